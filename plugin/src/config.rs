//! `Config`: the chat's tunables, and the one place the environment is read.
//!
//! [`Config::default`] is pure: no environment, no working directory, so a
//! test or an embedding host gets the same settings wherever it runs.
//! [`Config::from_env`] is what a binary calls: the defaults, then the
//! `BACKCHANNEL_*` variables documented in docs/OPERATING.md
//! (`BACKCHANNEL_POST_LIMIT`, the other write limits and upload quotas under
//! "Write limits and quotas", `BACKCHANNEL_UI_DIR`,
//! `BACKCHANNEL_CLOCK_OFFSET_SECS`, `BACKCHANNEL_AVATAR_MAX_BYTES`). A value that does not parse is logged
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
/// Default bytes of files one user may have shared (still undeleted), all
/// rooms together: 1 GiB, forty full-size uploads.
pub const DEFAULT_USER_UPLOAD_QUOTA: u64 = 1024 * 1024 * 1024;
/// Default bytes of files one room may hold: 2 GiB.
pub const DEFAULT_ROOM_UPLOAD_QUOTA: u64 = 2 * 1024 * 1024 * 1024;

/// Default largest profile picture upload: 10 MiB.
pub const DEFAULT_AVATAR_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// The environment variables holding the other write limits, `N/SECS` each.
pub const EDIT_LIMIT_ENV: &str = "BACKCHANNEL_EDIT_LIMIT";
pub const PRESENCE_LIMIT_ENV: &str = "BACKCHANNEL_PRESENCE_LIMIT";
pub const READ_LIMIT_ENV: &str = "BACKCHANNEL_READ_LIMIT";
pub const UPLOAD_LIMIT_ENV: &str = "BACKCHANNEL_UPLOAD_LIMIT";
pub const ROOM_LIMIT_ENV: &str = "BACKCHANNEL_ROOM_LIMIT";
pub const INVITE_LIMIT_ENV: &str = "BACKCHANNEL_INVITE_LIMIT";
pub const PROFILE_LIMIT_ENV: &str = "BACKCHANNEL_PROFILE_LIMIT";
/// The environment variable holding the largest profile picture upload,
/// in bytes (`K`, `M`, `G` suffixes as for the quotas).
pub const AVATAR_MAX_BYTES_ENV: &str = "BACKCHANNEL_AVATAR_MAX_BYTES";
/// The environment variables holding the upload quotas, in bytes (`K`, `M`
/// and `G` suffixes count in KiB, MiB and GiB; `0` turns a quota off).
pub const USER_QUOTA_ENV: &str = "BACKCHANNEL_USER_UPLOAD_QUOTA";
pub const ROOM_QUOTA_ENV: &str = "BACKCHANNEL_ROOM_UPLOAD_QUOTA";

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
    /// Message edits and deletions a user may make, together, per window.
    pub edit_limit: Rate,
    /// Presence changes (heartbeats included) a user may send per window.
    pub presence_limit: Rate,
    /// Read marks a user may set per window.
    pub read_limit: Rate,
    /// Rooms a user's macro views may create per window (a writer's first
    /// view of a `{chat:...}` creates its room).
    pub room_limit: Rate,
    /// Invitations, direct chats opened and group rooms created by one
    /// user per window: each may notify someone else.
    pub invite_limit: Rate,
    /// Profile writes (texts, picture uploads and removals, together) by
    /// one user per window.
    pub profile_limit: Rate,
    /// Largest profile picture upload in bytes (default 10 MiB); refused
    /// with 413 as soon as a body passes it.
    pub avatar_max_bytes: u64,
    /// Notifications kept per user; the oldest go beyond it.
    pub notification_cap: usize,
    /// Days a notification waits before it expires unread.
    pub notification_days: u32,
    /// Bytes of files a user may have shared and not deleted, across all
    /// rooms (0: no quota).
    pub user_upload_quota: u64,
    /// Bytes of files a room may hold (0: no quota).
    pub room_upload_quota: u64,
    /// Page writes (save, create, move, delete) a user may make through the
    /// host wiki's forms and API.
    pub page_write_limit: Rate,
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
            edit_limit: Rate::per_minute(30),
            // Clients beat every 20-30 s per open room; 60 a minute leaves
            // room for a dozen open rooms and status changes.
            presence_limit: Rate::per_minute(60),
            // The popup sends at most one mark per 2 s while news comes in:
            // ten busy rooms open at once. Marks only move forward, so a
            // refused one is caught up by the next.
            read_limit: Rate::per_minute(300),
            // A page holds up to 20 macros (the wiki's cap): three new
            // pages at once, then one room every 10 s.
            room_limit: Rate {
                count: 60,
                window: Duration::from_secs(600),
            },
            invite_limit: Rate {
                count: 100,
                window: Duration::from_secs(3600),
            },
            // Decoding a picture is a second of CPU: thirty changes, then
            // one every 20 s.
            profile_limit: Rate {
                count: 30,
                window: Duration::from_secs(600),
            },
            avatar_max_bytes: DEFAULT_AVATAR_MAX_BYTES,
            notification_cap: 500,
            notification_days: 30,
            user_upload_quota: DEFAULT_USER_UPLOAD_QUOTA,
            room_upload_quota: DEFAULT_ROOM_UPLOAD_QUOTA,
            // A person saving, moving or deleting pages by hand never comes
            // near it; a script filling the disk with revisions is slowed
            // to one write a second.
            page_write_limit: Rate::per_minute(60),
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
        let (posts_per_window, rate_window) = rate_from_env(POST_LIMIT_ENV)
            .map_or((defaults.posts_per_window, defaults.rate_window), |rate| {
                (rate.count, rate.window)
            });
        let uploads_per_minute = rate_from_env(UPLOAD_LIMIT_ENV)
            .map_or(defaults.uploads_per_minute, |rate| {
                rate.scaled_to(Duration::from_secs(60))
            });
        Self {
            ui_dir: std::env::var_os(UI_DIR_ENV)
                .map(PathBuf::from)
                .unwrap_or(defaults.ui_dir.clone()),
            posts_per_window,
            rate_window,
            uploads_per_minute,
            edit_limit: rate_from_env(EDIT_LIMIT_ENV).unwrap_or(defaults.edit_limit),
            presence_limit: rate_from_env(PRESENCE_LIMIT_ENV).unwrap_or(defaults.presence_limit),
            read_limit: rate_from_env(READ_LIMIT_ENV).unwrap_or(defaults.read_limit),
            room_limit: rate_from_env(ROOM_LIMIT_ENV).unwrap_or(defaults.room_limit),
            invite_limit: rate_from_env(INVITE_LIMIT_ENV).unwrap_or(defaults.invite_limit),
            profile_limit: rate_from_env(PROFILE_LIMIT_ENV).unwrap_or(defaults.profile_limit),
            avatar_max_bytes: bytes_from_env(AVATAR_MAX_BYTES_ENV)
                .filter(|max| *max > 0)
                .unwrap_or(defaults.avatar_max_bytes),
            user_upload_quota: bytes_from_env(USER_QUOTA_ENV).unwrap_or(defaults.user_upload_quota),
            room_upload_quota: bytes_from_env(ROOM_QUOTA_ENV).unwrap_or(defaults.room_upload_quota),
            page_write_limit: rate_from_env(PAGE_WRITE_LIMIT_ENV)
                .unwrap_or(defaults.page_write_limit),
            clock: clock_from_env(),
            ..defaults
        }
    }
}

/// A per-user budget: `count` actions per `window`, refilled evenly across
/// the window (see [`crate::limit::RateLimiter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub window: Duration,
}

impl Rate {
    pub const fn per_minute(count: u32) -> Self {
        Self {
            count,
            window: Duration::from_secs(60),
        }
    }

    /// The count this rate allows in `window` (at least 1).
    fn scaled_to(self, window: Duration) -> u32 {
        let scaled = u128::from(self.count) * window.as_millis() / self.window.as_millis().max(1);
        u32::try_from(scaled).unwrap_or(u32::MAX).max(1)
    }
}

/// A `N/SECS` rate from `var`; one that does not parse is reported and ignored.
fn rate_from_env(var: &str) -> Option<Rate> {
    let value = std::env::var(var).ok()?;
    let parsed = parse_post_limit(&value).map(|(count, window)| Rate { count, window });
    if parsed.is_none() {
        tracing::warn!(%value, "{var} should look like 30/60 (actions/seconds); using the default");
    }
    parsed
}

/// A byte count from `var`; one that does not parse is reported and ignored.
fn bytes_from_env(var: &str) -> Option<u64> {
    let value = std::env::var(var).ok()?;
    let parsed = parse_bytes(&value);
    if parsed.is_none() {
        tracing::warn!(%value, "{var} should be a byte count like 524288000 or 500M; using the default");
    }
    parsed
}

/// `1048576`, `512K`, `500M`, `2G` (binary units), `0`.
fn parse_bytes(value: &str) -> Option<u64> {
    let value = value.trim();
    let (digits, unit) = match value.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&value[..i], c.to_ascii_uppercase()),
        _ => (value, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return None,
    };
    let number: u64 = digits.trim().parse().ok()?;
    number.checked_mul(1u64 << shift)
}

/// 30 posts per 10 seconds per user.
const DEFAULT_POST_LIMIT: (u32, Duration) = (30, Duration::from_secs(10));

/// Where `cargo xtask build-ui` puts the bundle: `target/ui` in the
/// workspace this binary was built from.
fn build_tree_ui_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/ui"))
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
    fn byte_counts_parse_or_are_refused() {
        assert_eq!(parse_bytes("1048576"), Some(1_048_576));
        assert_eq!(parse_bytes(" 500M "), Some(500 * 1024 * 1024));
        assert_eq!(parse_bytes("2g"), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_bytes("512K"), Some(512 * 1024));
        assert_eq!(parse_bytes("0"), Some(0));
        for bad in ["", "M", "-1", "1.5G", "10T", "99999999999999999999G"] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn rates_scale_to_a_minute() {
        let rate = Rate {
            count: 5,
            window: Duration::from_secs(10),
        };
        assert_eq!(rate.scaled_to(Duration::from_secs(60)), 30);
        assert_eq!(Rate::per_minute(1).scaled_to(Duration::from_secs(1)), 1);
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
