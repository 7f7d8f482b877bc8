//! `Clock`: the time of day as the chat sees it.
//!
//! Messages are stamped with it and the transcript publisher decides from it
//! which local day is over, so the two always agree on what "today" is. It is
//! the system clock, optionally shifted by a fixed offset: end-to-end tests
//! start the real binary a few seconds before midnight to watch a day
//! boundary pass without waiting for one (`BACKCHANNEL_CLOCK_OFFSET_SECS`,
//! a testing aid documented in docs/OPERATING.md). An offset, not a frozen
//! time, because everything else (timeouts, rate limits, presence) runs on
//! real elapsed time and must keep doing so.

use chrono::{DateTime, TimeDelta, Utc};

/// The environment variable holding a clock offset in whole seconds.
pub const OFFSET_ENV: &str = "BACKCHANNEL_CLOCK_OFFSET_SECS";

/// The system clock plus a fixed offset (zero unless a test asks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Added to the system time on every reading.
    offset: TimeDelta,
}

impl Clock {
    /// The system clock, unshifted.
    pub fn system() -> Self {
        Self::default()
    }

    /// The system clock moved by `offset` (negative: into the past).
    pub fn shifted(offset: TimeDelta) -> Self {
        Self { offset }
    }

    /// The system clock shifted by `BACKCHANNEL_CLOCK_OFFSET_SECS` if set.
    /// A value that does not parse is reported and ignored; a shift is
    /// logged loudly, because a production server should never run one.
    pub fn from_env() -> Self {
        let Ok(value) = std::env::var(OFFSET_ENV) else {
            return Self::system();
        };
        match parse_offset(&value) {
            Some(offset) => {
                tracing::warn!(
                    seconds = offset.num_seconds(),
                    "{OFFSET_ENV} is set: the chat clock is shifted (a testing aid; \
                     messages get shifted times)"
                );
                Self::shifted(offset)
            }
            None => {
                tracing::warn!(%value, "{OFFSET_ENV} should be a whole number of seconds; ignoring it");
                Self::system()
            }
        }
    }

    /// The current time on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    /// How far this clock is from the system clock.
    pub fn offset(&self) -> TimeDelta {
        self.offset
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
    fn offsets_parse_or_are_refused() {
        assert_eq!(parse_offset("-3600"), Some(TimeDelta::hours(-1)));
        assert_eq!(parse_offset(" 86395 "), Some(TimeDelta::seconds(86_395)));
        assert_eq!(parse_offset("0"), Some(TimeDelta::zero()));
        for bad in ["", "1.5", "1h", "99999999999999"] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_shifted_clock_runs_ahead_by_its_offset() {
        let clock = Clock::shifted(TimeDelta::days(3));
        let ahead = clock.now() - Utc::now();
        assert!(
            ahead > TimeDelta::days(3) - TimeDelta::seconds(5) && ahead <= TimeDelta::days(3),
            "{ahead}"
        );
        assert_eq!(Clock::system().offset(), TimeDelta::zero());
    }
}
