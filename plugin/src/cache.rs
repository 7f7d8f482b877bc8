//! `UserCache`: per-user values kept for a short time, so what every
//! request wants to know about a person (their display name, picture
//! version) costs a query only now and then.
//!
//! Each node keeps its own. A write on this node forgets the user's entry
//! at once; a write on another node is seen here when the entry expires
//! (the time to live, 30 s for profiles). Bounded: past `capacity` entries,
//! the expired ones are dropped, and if that is not enough, all of them.

use protocol::UserId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A map from user to `V` whose entries expire after a time to live.
pub struct UserCache<V> {
    ttl: Duration,
    capacity: usize,
    /// A std Mutex is fine: held only to read or change the map, never
    /// across an `.await`.
    entries: Mutex<HashMap<UserId, (Instant, V)>>,
}

impl<V: Clone> UserCache<V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `user`, unless missing or expired.
    pub fn get(&self, user: &UserId) -> Option<V> {
        let entries = self.lock();
        let (at, value) = entries.get(user)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Keeps `value` for `user` from now.
    pub fn put(&self, user: UserId, value: V) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&user) {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(user, (Instant::now(), value));
    }

    /// Drops `user`'s entry (they changed it on this node).
    pub fn forget(&self, user: &UserId) {
        self.lock().remove(user);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, (Instant, V)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_are_forgotten_and_stay_bounded() {
        let cache = UserCache::new(Duration::from_millis(50), 2);
        let (a, b, c) = (UserId::new("a"), UserId::new("b"), UserId::new("c"));
        cache.put(a.clone(), 1);
        assert_eq!(cache.get(&a), Some(1));
        cache.forget(&a);
        assert_eq!(cache.get(&a), None);
        cache.put(a.clone(), 1);
        cache.put(b.clone(), 2);
        cache.put(c.clone(), 3);
        assert_eq!(cache.get(&c), Some(3));
        assert!(cache.lock().len() <= 2);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(&c), None, "expired");
    }
}
