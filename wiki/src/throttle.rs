//! Failed-login throttling.
//!
//! Each failed sign-in counts against two keys: the username and the client
//! IP (the socket's peer address; proxies' `X-Forwarded-For` is not trusted).
//! After [`MAX_FAILURES`] failures on a key within [`WINDOW`], that key is
//! refused (429 with `Retry-After`) until the window that began with its first
//! failure ends. A successful sign-in clears the username's count. State is
//! in memory: a restart forgives everyone, which is fine for a brute-force
//! brake.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failures allowed per key within a window.
pub const MAX_FAILURES: u32 = 5;
/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Counts failures per key.
#[derive(Default)]
pub struct LoginThrottle {
    /// A std `Mutex` is fine: held for a map lookup, never across `.await`.
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginThrottle {
    pub fn new() -> Self {
        Self::default()
    }

    /// `Err(seconds)` when any of `keys` is locked out now.
    pub fn check(&self, keys: &[String]) -> Result<(), u64> {
        let now = Instant::now();
        let map = self.map();
        let mut wait = None;
        for key in keys {
            if let Some((since, count)) = map.get(key) {
                let elapsed = now.duration_since(*since);
                if *count >= MAX_FAILURES && elapsed < WINDOW {
                    let secs = (WINDOW - elapsed).as_secs().max(1);
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Records a failed attempt against each key.
    pub fn fail(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self.map();
        if map.len() > 10_000 {
            map.retain(|_, (since, _)| now.duration_since(*since) < WINDOW);
        }
        for key in keys {
            let entry = map.entry(key.clone()).or_insert((now, 0));
            if now.duration_since(entry.0) >= WINDOW {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    /// Forgets the failures of `key` (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        self.map().remove(key);
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, u32)>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The throttle keys for a sign-in attempt.
pub fn keys(username: &str, ip: Option<std::net::IpAddr>) -> Vec<String> {
    let mut keys = vec![format!("user:{}", username.to_lowercase())];
    if let Some(ip) = ip {
        keys.push(format!("ip:{ip}"));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_and_clears_on_success() {
        let throttle = LoginThrottle::new();
        let keys = keys("Alice", None);
        for _ in 0..MAX_FAILURES {
            assert!(throttle.check(&keys).is_ok());
            throttle.fail(&keys);
        }
        let wait = throttle.check(&keys).unwrap_err();
        assert!(wait > 0 && wait <= WINDOW.as_secs());
        throttle.clear(&keys[0]);
        assert!(throttle.check(&keys).is_ok());
    }
}
