//! `Clock`: the time of day as the chat sees it.
//!
//! Messages are stamped with it and the transcript publisher decides from it
//! which local day is over, so the two always agree on what "today" is. It is
//! the system clock, optionally shifted by a fixed offset: end-to-end tests
//! start the real binary a few seconds before midnight to watch a day
//! boundary pass without waiting for one (`BACKCHANNEL_CLOCK_OFFSET_SECS`,
//! a testing aid documented in docs/OPERATING.md, read by
//! [`crate::config::Config::from_env`]). An offset, not a frozen
//! time, because everything else (timeouts, rate limits, presence) runs on
//! real elapsed time and must keep doing so.

use chrono::{DateTime, TimeDelta, Utc};

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

    /// The current time on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    /// How far this clock is from the system clock.
    pub fn offset(&self) -> TimeDelta {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
