//! A bounded map whose entries expire: sessions, seen tokens, page and
//! access contexts. Anyone can install the plugin and mint valid tokens for
//! their own wiki, so every map a token can grow has a cap.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Seconds since the Unix epoch, the unit JWTs use.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The map is full of live entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

pub(crate) struct ExpiringMap<K, V> {
    /// A std Mutex is fine: held for one map operation, never across `.await`.
    inner: Mutex<Inner<K, V>>,
    cap: usize,
}

struct Inner<K, V> {
    /// Value and its expiry (Unix seconds).
    entries: HashMap<K, (V, i64)>,
    /// When expired entries were last swept; sweeping a full map at most
    /// once a second keeps a flood from costing O(cap) per request.
    swept_at: i64,
}

impl<K: Eq + Hash, V: Clone> ExpiringMap<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                swept_at: i64::MIN,
            }),
            cap,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live value for `key`.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let now = now();
        self.lock()
            .entries
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(value, _)| value.clone())
    }

    /// Sets `key`, returning the live value it replaced.
    pub(crate) fn insert(&self, key: K, value: V, expires: i64) -> Result<Option<V>, Full> {
        let now = now();
        let mut inner = self.lock();
        if !inner.entries.contains_key(&key) {
            self.make_room(&mut inner, now)?;
        }
        Ok(inner
            .entries
            .insert(key, (value, expires))
            .filter(|(_, old_expiry)| *old_expiry > now)
            .map(|(old, _)| old))
    }

    /// Sets `key` only if it holds no live value; false when it did.
    pub(crate) fn insert_new(&self, key: K, value: V, expires: i64) -> Result<bool, Full> {
        let now = now();
        let mut inner = self.lock();
        match inner.entries.get(&key) {
            Some((_, old_expiry)) if *old_expiry > now => return Ok(false),
            Some(_) => {}
            None => self.make_room(&mut inner, now)?,
        }
        inner.entries.insert(key, (value, expires));
        Ok(true)
    }

    /// Drops every entry for which `keep` is false.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.lock().entries.retain(|k, (v, _)| keep(k, v));
    }

    fn make_room(&self, inner: &mut Inner<K, V>, now: i64) -> Result<(), Full> {
        if inner.entries.len() < self.cap {
            return Ok(());
        }
        if inner.swept_at < now {
            inner.swept_at = now;
            inner.entries.retain(|_, (_, expires)| *expires > now);
        }
        if inner.entries.len() < self.cap {
            Ok(())
        } else {
            Err(Full)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_entries_are_invisible_and_make_room() {
        let map = ExpiringMap::new(2);
        let now = now();
        assert_eq!(map.insert("old", 1, now - 1), Ok(None));
        assert_eq!(map.get(&"old"), None);
        assert_eq!(map.insert("a", 2, now + 60), Ok(None));
        // Full, but "old" has expired and is swept.
        assert_eq!(map.insert("b", 3, now + 60), Ok(None));
        assert_eq!(map.insert("c", 4, now + 60), Err(Full));
        assert_eq!(map.insert("a", 5, now + 60), Ok(Some(2)));
    }

    #[test]
    fn insert_new_refuses_a_live_key() {
        let map = ExpiringMap::new(10);
        let now = now();
        assert_eq!(map.insert_new("t", (), now + 60), Ok(true));
        assert_eq!(map.insert_new("t", (), now + 60), Ok(false));
        assert_eq!(map.insert_new("gone", (), now - 1), Ok(true));
        assert_eq!(map.insert_new("gone", (), now + 60), Ok(true));
    }
}
