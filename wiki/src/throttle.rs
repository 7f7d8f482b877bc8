//! Sign-in throttling: how many password checks a client gets.
//!
//! Every attempt **reserves** its slot before the argon2 check, atomically
//! against two keys, and a success gives it back:
//! - the pair (client address, username): [`MAX_FAILURES`] per [`WINDOW`].
//!   This is the brake on guessing one account's password;
//! - the client address alone: [`IP_MAX_FAILURES`] per [`WINDOW`], over all
//!   usernames, the brake on trying one password against many accounts.
//!
//! Because the slot is taken before the check (not counted after it), a
//! burst of simultaneous attempts gets at most that many checks; the rest
//! are refused at once (429 with `Retry-After`). A key's window starts with
//! its first failure; when the window ends the key is forgotten.
//!
//! There is deliberately **no per-username key across addresses**: with one,
//! a stranger anywhere could keep `admin` locked out for good by failing
//! five times every fifteen minutes. Instead a stranger's failures lock only
//! their own (address, username) pair and address, and the account's owner
//! signs in from theirs. What stops a distributed guesser is the cost per
//! address (five guesses per window each), the global argon2 queue
//! ([`crate::hasher`]), and passwords long enough to make online guessing
//! hopeless (the generated ones are 20 characters, about 115 bits).
//!
//! The client address is what [`crate::client`] says: the TCP peer, or
//! `X-Forwarded-For` from a trusted proxy. IPv6 clients are keyed by their
//! /64, since one host usually holds a whole /64.
//!
//! Memory is bounded: at most [`MAX_ENTRIES`] keys, each holding an address
//! and a username that already passed [`crate::users::valid_name`] (at most
//! 64 bytes); when full, expired keys go first, then the oldest quarter.
//! State is in memory and per node: a restart forgives everyone, which is
//! fine for a brute-force brake.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failed checks allowed per (address, username) within a window.
pub const MAX_FAILURES: u32 = 5;
/// Failed checks allowed per address, over all usernames, within a window.
pub const IP_MAX_FAILURES: u32 = 30;
/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most (about 100 bytes each).
pub const MAX_ENTRIES: usize = 50_000;

/// What a failure counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    Pair(IpAddr, String),
}

impl Key {
    fn limit(&self) -> u32 {
        match self {
            Key::Ip(_) => IP_MAX_FAILURES,
            Key::Pair(..) => MAX_FAILURES,
        }
    }
}

/// Failures on one key since its window began.
#[derive(Debug, Clone, Copy)]
struct Entry {
    since: Instant,
    count: u32,
}

/// Counts sign-in attempts per key.
pub struct LoginThrottle {
    /// A std `Mutex` is fine: held for a few map operations, never across
    /// `.await`.
    entries: Mutex<HashMap<Key, Entry>>,
    /// [`MAX_ENTRIES`] outside tests.
    capacity: usize,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::with_capacity(MAX_ENTRIES)
    }
}

/// A slot taken by [`LoginThrottle::reserve`]: counted as a failure unless
/// given back with [`LoginThrottle::succeeded`] or
/// [`LoginThrottle::release`].
#[must_use]
#[derive(Debug)]
pub struct Reservation {
    keys: Vec<Key>,
}

impl LoginThrottle {
    pub fn new() -> Self {
        Self::default()
    }

    /// A throttle remembering at most `capacity` keys.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(2),
        }
    }

    /// Takes a slot for one password check of `username` (already
    /// validated) from `ip`, or `Err(seconds)` to wait when a key is used up.
    /// With `username` `None` (a name no account can have) only the
    /// address's slot is taken.
    pub fn reserve(&self, ip: IpAddr, username: Option<&str>) -> Result<Reservation, u64> {
        let ip = prefix(ip);
        let mut keys = vec![Key::Ip(ip)];
        if let Some(name) = username {
            keys.push(Key::Pair(ip, name.to_lowercase()));
        }
        let now = Instant::now();
        let mut map = self.map();
        let mut wait = None;
        for key in &keys {
            if let Some(entry) = map.get(key) {
                let elapsed = now.duration_since(entry.since);
                if elapsed < WINDOW && entry.count >= key.limit() {
                    let secs = (WINDOW - elapsed).as_secs().max(1);
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        for key in &keys {
            if !map.contains_key(key) && map.len() >= self.capacity {
                evict(&mut map, now, self.capacity);
            }
            let entry = map.entry(key.clone()).or_insert(Entry {
                since: now,
                count: 0,
            });
            if now.duration_since(entry.since) >= WINDOW {
                *entry = Entry {
                    since: now,
                    count: 0,
                };
            }
            entry.count += 1;
        }
        Ok(Reservation { keys })
    }

    /// The check passed: the pair's failures are forgiven and the address
    /// gets its slot back (not its earlier failures: a valid account must
    /// not reset a password sprayer's budget).
    pub fn succeeded(&self, reservation: Reservation) {
        let mut map = self.map();
        for key in reservation.keys {
            match key {
                Key::Pair(..) => {
                    map.remove(&key);
                }
                Key::Ip(_) => give_back(&mut map, &key),
            }
        }
    }

    /// The check failed: the slots stay taken until the window ends.
    pub fn failed(&self, reservation: Reservation) {
        drop(reservation);
    }

    /// The check did not happen (the argon2 queue was full, or the store
    /// failed): every slot goes back.
    pub fn release(&self, reservation: Reservation) {
        let mut map = self.map();
        for key in &reservation.keys {
            give_back(&mut map, key);
        }
    }

    /// Keys remembered now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of usernames held in keys (for tests: bounded by
    /// [`MAX_ENTRIES`] × 64).
    pub fn username_bytes(&self) -> usize {
        self.map()
            .keys()
            .map(|key| match key {
                Key::Pair(_, name) => name.len(),
                Key::Ip(_) => 0,
            })
            .sum()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn give_back(map: &mut HashMap<Key, Entry>, key: &Key) {
    if let Some(entry) = map.get_mut(key) {
        entry.count = entry.count.saturating_sub(1);
        if entry.count == 0 {
            map.remove(key);
        }
    }
}

/// Makes room for one more key under `capacity`: drops expired keys, and
/// if that was not enough the oldest quarter (the nearest to expiring).
fn evict(map: &mut HashMap<Key, Entry>, now: Instant, capacity: usize) {
    map.retain(|_, entry| now.duration_since(entry.since) < WINDOW);
    if map.len() < capacity {
        return;
    }
    let mut starts: Vec<Instant> = map.values().map(|entry| entry.since).collect();
    let cut = (starts.len() / 4).max(1);
    let (_, newest_dropped, _) = starts.select_nth_unstable(cut - 1);
    let newest_dropped = *newest_dropped;
    map.retain(|_, entry| entry.since > newest_dropped);
}

/// The address a key is made of: IPv4 as is (also when mapped into IPv6),
/// IPv6 cut to its /64.
fn prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 9));

    #[test]
    fn reservations_run_out_and_success_gives_them_back() {
        let throttle = LoginThrottle::new();
        let held: Vec<_> = (0..MAX_FAILURES)
            .map(|_| throttle.reserve(A, Some("Alice")).unwrap())
            .collect();
        // In flight counts: no sixth check starts while five are running.
        let wait = throttle.reserve(A, Some("alice")).unwrap_err();
        assert!(wait > 0 && wait <= WINDOW.as_secs());
        // Another address, or another name from the same address, is free.
        throttle.release(throttle.reserve(B, Some("alice")).unwrap());
        throttle.release(throttle.reserve(A, Some("bob")).unwrap());
        let mut held = held.into_iter();
        throttle.succeeded(held.next().unwrap());
        // A success forgives the pair.
        throttle.release(throttle.reserve(A, Some("alice")).unwrap());
        drop(held);
    }

    #[test]
    fn one_address_runs_out_across_usernames() {
        let throttle = LoginThrottle::new();
        for i in 0..IP_MAX_FAILURES {
            let _ = throttle.reserve(A, Some(&format!("user{i}"))).unwrap();
        }
        assert!(throttle.reserve(A, Some("someone-else")).is_err());
        assert!(throttle.reserve(A, None).is_err());
        assert!(throttle.reserve(B, Some("someone-else")).is_ok());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let throttle = LoginThrottle::new();
        for _ in 0..MAX_FAILURES {
            let _ = throttle.reserve(one, Some("alice")).unwrap();
        }
        assert!(throttle.reserve(other, Some("alice")).is_err());
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(prefix(mapped), A);
    }

    #[test]
    fn memory_stays_under_the_cap() {
        let throttle = LoginThrottle::with_capacity(1_000);
        for i in 0..20_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(i));
            let _ = throttle.reserve(ip, Some("x".repeat(64).as_str()));
            assert!(throttle.len() <= 1_000, "{} keys", throttle.len());
        }
        // The newest keys survive eviction.
        let newest = IpAddr::V4(std::net::Ipv4Addr::from(19_999u32));
        for _ in 1..MAX_FAILURES {
            let _ = throttle.reserve(newest, Some("x".repeat(64).as_str()));
        }
        assert!(throttle
            .reserve(newest, Some("x".repeat(64).as_str()))
            .is_err());
    }
}
