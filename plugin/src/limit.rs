//! Per-user rate limits (a `governor` keyed token bucket).
//!
//! A user may act `burst` times at once and then once every
//! `window / burst`; past that, the action answers 429 `rate_limited` with
//! `Retry-After`. Every chat write has its own bucket (posts, edits and
//! deletions, presence, typing, read marks, uploads: see [`crate::state`]),
//! so a burst of one kind never starves another.

use crate::config::Rate;
use crate::error::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};
use protocol::UserId;
use std::num::NonZeroU32;
use std::time::Duration;

/// A keyed limiter: one bucket per user.
pub struct RateLimiter {
    limiter: Governor<UserId, DefaultKeyedStateStore<UserId>, DefaultClock>,
    clock: DefaultClock,
}

impl RateLimiter {
    /// `burst` actions per `window`, refilled evenly across the window.
    pub fn new(burst: u32, window: Duration) -> Self {
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let per_action = window / burst.get();
        let quota = Quota::with_period(per_action.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst);
        Self {
            limiter: Governor::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// [`RateLimiter::new`] for a configured [`Rate`].
    pub fn for_rate(rate: Rate) -> Self {
        Self::new(rate.count, rate.window)
    }

    /// Takes one token for `user`, or refuses with a `rate_limited` error
    /// that says what (`too many {what}; slow down`) and when to retry.
    pub fn admit(&self, user: &UserId, what: &str) -> Result<(), AppError> {
        self.check(user).map_err(|wait| AppError {
            message: format!("too many {what}; slow down"),
            ..AppError::rate_limited(wait)
        })
    }

    /// Takes one token for `user`. `Err(seconds)` says how long to wait.
    pub fn check(&self, user: &UserId) -> Result<(), u64> {
        match self.limiter.check_key(user) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refuse_with_a_wait() {
        let limiter = RateLimiter::new(3, Duration::from_secs(30));
        let alice = UserId::new("alice");
        for _ in 0..3 {
            assert!(limiter.check(&alice).is_ok());
        }
        let wait = limiter.check(&alice).unwrap_err();
        assert!((1..=10).contains(&wait), "wait {wait}");
        // Someone else has their own bucket.
        assert!(limiter.check(&UserId::new("bob")).is_ok());
    }
}
