//! A bounded map whose entries expire: sessions, seen tokens, page and
//! access contexts. Anyone can install the plugin and mint valid tokens for
//! their own wiki, so every map a token can grow has a cap, and each
//! installation (the entry's *tenant*, its client key) a cap of its own
//! within it: one wiki filling a map locks out only itself.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
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
    /// Most entries one tenant may hold.
    per_tenant: usize,
}

struct Inner<K, V> {
    /// Value, its expiry (Unix seconds) and its tenant.
    entries: HashMap<K, (V, i64, Arc<str>)>,
    /// Entries held per tenant (expired ones included until swept).
    held: HashMap<Arc<str>, usize>,
    /// When expired entries were last swept; sweeping a full map at most
    /// once a second keeps a flood from costing O(cap) per request.
    swept_at: i64,
}

impl<K: Eq + Hash, V: Clone> ExpiringMap<K, V> {
    pub(crate) fn new(cap: usize, per_tenant: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                held: HashMap::new(),
                swept_at: i64::MIN,
            }),
            cap,
            per_tenant,
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
            .filter(|(_, expires, _)| *expires > now)
            .map(|(value, ..)| value.clone())
    }

    /// Sets `key` for `tenant`, returning the live value it replaced.
    pub(crate) fn insert(
        &self,
        key: K,
        tenant: &str,
        value: V,
        expires: i64,
    ) -> Result<Option<V>, Full> {
        let now = now();
        let mut inner = self.lock();
        let same_tenant = inner
            .entries
            .get(&key)
            .is_some_and(|(.., owner)| &**owner == tenant);
        if !same_tenant {
            self.make_room(&mut inner, tenant, now)?;
        }
        Ok(inner
            .put(key, tenant, value, expires)
            .filter(|(_, old_expiry)| *old_expiry > now)
            .map(|(old, _)| old))
    }

    /// Sets `key` for `tenant` only if it holds no live value; false when
    /// it did.
    pub(crate) fn insert_new(
        &self,
        key: K,
        tenant: &str,
        value: V,
        expires: i64,
    ) -> Result<bool, Full> {
        let now = now();
        let mut inner = self.lock();
        match inner.entries.get(&key) {
            Some((_, old_expiry, _)) if *old_expiry > now => return Ok(false),
            Some((.., owner)) if &**owner == tenant => {}
            _ => self.make_room(&mut inner, tenant, now)?,
        }
        inner.put(key, tenant, value, expires);
        Ok(true)
    }

    /// Drops every entry for which `keep` is false.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        let mut inner = self.lock();
        inner.entries.retain(|k, (v, ..)| keep(k, v));
        inner.recount();
    }

    /// Room for one more entry of `tenant`: under both caps, after
    /// sweeping expired entries (at most once a second) if needed.
    fn make_room(&self, inner: &mut Inner<K, V>, tenant: &str, now: i64) -> Result<(), Full> {
        let fits = |inner: &Inner<K, V>| {
            inner.entries.len() < self.cap
                && inner.held.get(tenant).copied().unwrap_or(0) < self.per_tenant
        };
        if fits(inner) {
            return Ok(());
        }
        if inner.swept_at < now {
            inner.swept_at = now;
            inner.entries.retain(|_, (_, expires, _)| *expires > now);
            inner.recount();
        }
        if fits(inner) {
            Ok(())
        } else {
            Err(Full)
        }
    }
}

impl<K: Eq + Hash, V> Inner<K, V> {
    /// Inserts, keeping the per-tenant counts; the replaced value and expiry.
    fn put(&mut self, key: K, tenant: &str, value: V, expires: i64) -> Option<(V, i64)> {
        let tenant: Arc<str> = match self.held.get_key_value(tenant) {
            Some((shared, _)) => Arc::clone(shared),
            None => Arc::from(tenant),
        };
        *self.held.entry(Arc::clone(&tenant)).or_default() += 1;
        let (old, old_expiry, old_tenant) = self.entries.insert(key, (value, expires, tenant))?;
        if let Some(count) = self.held.get_mut(&old_tenant) {
            *count = count.saturating_sub(1);
        }
        Some((old, old_expiry))
    }

    /// Counts every tenant's entries again (after a sweep).
    fn recount(&mut self) {
        self.held.clear();
        for (.., tenant) in self.entries.values() {
            *self.held.entry(Arc::clone(tenant)).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_entries_are_invisible_and_make_room() {
        let map = ExpiringMap::new(2, 2);
        let now = now();
        assert_eq!(map.insert("old", "t", 1, now - 1), Ok(None));
        assert_eq!(map.get(&"old"), None);
        assert_eq!(map.insert("a", "t", 2, now + 60), Ok(None));
        // Full, but "old" has expired and is swept.
        assert_eq!(map.insert("b", "t", 3, now + 60), Ok(None));
        assert_eq!(map.insert("c", "t", 4, now + 60), Err(Full));
        assert_eq!(map.insert("a", "t", 5, now + 60), Ok(Some(2)));
    }

    #[test]
    fn insert_new_refuses_a_live_key() {
        let map = ExpiringMap::new(10, 10);
        let now = now();
        assert_eq!(map.insert_new("t", "w", (), now + 60), Ok(true));
        assert_eq!(map.insert_new("t", "w", (), now + 60), Ok(false));
        assert_eq!(map.insert_new("gone", "w", (), now - 1), Ok(true));
        assert_eq!(map.insert_new("gone", "w", (), now + 60), Ok(true));
    }

    #[test]
    fn one_tenant_filling_its_share_leaves_room_for_the_others() {
        let map = ExpiringMap::new(10, 3);
        let now = now();
        for i in 0..3 {
            assert_eq!(map.insert(i, "hostile", (), now + 60), Ok(None));
        }
        assert_eq!(map.insert(3, "hostile", (), now + 60), Err(Full));
        assert_eq!(map.insert_new(4, "hostile", (), now + 60), Err(Full));
        // Replacing one of its own entries is not growth.
        assert_eq!(map.insert(0, "hostile", (), now + 60), Ok(Some(())));
        assert_eq!(map.insert(5, "honest", (), now + 60), Ok(None));
        // Forgetting the hostile wiki frees its share.
        map.retain(|k, _| *k >= 5);
        assert_eq!(map.insert(6, "hostile", (), now + 60), Ok(None));
    }
}
