//! Page permissions, evaluated at request time along the ancestor chain.
//!
//! Each page either **inherits** (the default) or has its own rules: a `view`
//! list and an `edit` list of principals. To decide what someone may do on a
//! page we walk up from the page to the first ancestor-or-self that does not
//! inherit and apply its lists; nothing is ever copied to children, so a
//! change on a parent takes effect for all inheriting descendants at once.
//!
//! Principals: `user:NAME`, `group:NAME`, `signed-in` (any signed-in user)
//! and `anonymous` (everyone, signed in or not: granting anonymous readers
//! view rights is how a page is made public).
//!
//! Rules, in order:
//! - admins have [`Access::Admin`] on every page;
//! - a match in `edit` gives [`Access::Write`] (edit implies view);
//! - a match in `view` gives [`Access::Read`];
//! - otherwise [`Access::None`]: the page does not exist for them.
//!
//! When no page up the chain has its own rules, the site defaults apply:
//! signed-in users may edit, and readers are who the `acl.site_readers`
//! setting says ([`crate::model::site_rules`]): **signed-in users on a fresh
//! install** (a new wiki is not published to the internet by accident),
//! anyone (`anonymous`) on installs from before the setting, or after
//! `backchannel site readers anonymous`.
//!
//! Writing a page (creating, editing, moving, deleting) needs a signed-in
//! account with [`Access::Write`]; an `anonymous` entry in an edit list
//! therefore lets every signed-in user edit but nobody write anonymously.
//! Changing a page's permissions needs [`Access::Admin`], which only site
//! admins have.
//!
//! # The ACL epoch
//! Open chat streams must notice revoked access without a permission query
//! per event. Every write that can change someone's access (permissions,
//! group membership, accounts, moving or deleting pages) increments a counter
//! in the `settings` table in the same transaction (the store does it). [`Epoch`]
//! is the in-memory copy the plugin reads through `Host::acl_epoch`: the
//! wiki's own handlers refresh it right after such a write, and a poller
//! ([`Epoch::follow`]) picks up changes made by other processes (the CLI)
//! within a second.
//!
//! [`EpochCache`] keeps answers that hold while the epoch stands (who a
//! session token is, what access someone has to a page), so the hot paths
//! (every post, poll and subscription) skip the database; a bump empties it.

pub use crate::model::{default_rules, AccessMap, Permissions, Principal, Rules};
use crate::store::Store;
use crate::users::Member;
use plugin::Access;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What `who` may do on `page_id`, evaluated now.
pub async fn access(
    store: &dyn Store,
    who: Option<&Member>,
    page_id: i64,
) -> anyhow::Result<Access> {
    Ok(store.effective_rules(page_id).await?.access(who))
}

/// A page path as seen by one caller: the page if it exists, and what the
/// caller may do there. For a missing page, `access` is what they may do on
/// the nearest existing ancestor (or under the site defaults): that decides
/// whether they may create it, and whether they may even learn it is missing.
#[derive(Debug, Clone)]
pub struct Target {
    pub page: Option<crate::pages::Page>,
    pub access: Access,
}

/// Whether anonymous readers may read pages that have no rules of their
/// own (the `acl.site_readers` setting): false on a private site.
pub async fn site_open_to_anonymous(store: &dyn Store) -> anyhow::Result<bool> {
    Ok(site_access(store, None).await? >= Access::Read)
}

/// What `who` may do where no page has rules: the site-wide rules, with
/// the readers the `acl.site_readers` setting names.
async fn site_access(store: &dyn Store, who: Option<&Member>) -> anyhow::Result<Access> {
    let readers = store.setting(crate::model::SITE_READERS_KEY).await?;
    Ok(crate::model::site_rules(readers.as_deref()).access(who))
}

/// Resolves `path` for `who`.
pub async fn target(
    store: &dyn Store,
    who: Option<&Member>,
    path: &crate::pages::PagePath,
) -> anyhow::Result<Target> {
    let nearest = crate::pages::nearest_existing(store, path).await?;
    let access = match &nearest {
        Some(page) => access(store, who, page.id).await?,
        None => site_access(store, who).await?,
    };
    let page = nearest.filter(|page| page.path == *path);
    Ok(Target { page, access })
}

/// What `who` may do at `path` if no page were there and no page `who` may
/// not read existed either: the access of the nearest page above it that
/// `who` can read, or the site defaults. A page (or an ancestor) `who` may
/// not read is answered with this access, as if missing, so that "Create
/// this page", the edit form and move conflicts look the same whether a
/// hidden page is there or nothing is. Only for what is *shown*: writes
/// still check the real access, and refuse (see `edit::Context::hidden`).
pub async fn access_if_missing(
    store: &dyn Store,
    who: Option<&Member>,
    path: &crate::pages::PagePath,
) -> anyhow::Result<Access> {
    let mut cursor = path.parent();
    while let Some(above) = cursor {
        if let Some(page) = store.page_by_path(&above).await? {
            let here = access(store, who, page.id).await?;
            if here >= Access::Read {
                return Ok(here);
            }
        }
        cursor = above.parent();
    }
    site_access(store, who).await
}

/// The in-memory ACL epoch, shared by the wiki's handlers and `WikiHost`.
/// Cheap to clone; reading it is one atomic load.
#[derive(Clone, Default)]
pub struct Epoch(Arc<AtomicU64>);

impl Epoch {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Records a value read from the database (never goes backwards).
    pub fn observe(&self, stored: u64) {
        self.0.fetch_max(stored, Ordering::AcqRel);
    }

    /// Re-reads the stored counter; call after a write that bumped it.
    pub async fn refresh(&self, store: &dyn Store) {
        match store.acl_epoch().await {
            Ok(stored) => self.observe(stored),
            Err(err) => tracing::error!(error = ?err, "reading the ACL epoch"),
        }
    }

    /// Polls the stored counter every `every` so that changes made by other
    /// processes (the CLI) reach open streams. Stops when every other handle
    /// to this epoch is gone.
    pub fn follow(&self, store: Arc<dyn Store>, every: Duration) {
        let weak = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(strong) = weak.upgrade() else {
                    return;
                };
                let epoch = Epoch(strong);
                epoch.refresh(store.as_ref()).await;
            }
        });
    }
}

/// Answers worked out under one ACL epoch, forgotten as soon as it moves.
/// Cheap to clone (the answers are shared). Only answers worked out
/// entirely under the current epoch are kept, so a lookup that raced with a
/// revocation never outlives it.
#[derive(Clone)]
pub struct EpochCache<K, V> {
    epoch: Epoch,
    answers: Arc<Mutex<Answers<K, V>>>,
    /// Past this many answers the cache starts over (it refills as asked).
    capacity: usize,
}

struct Answers<K, V> {
    epoch: u64,
    by_key: HashMap<K, V>,
}

impl<K: Eq + Hash, V: Clone> EpochCache<K, V> {
    pub fn new(epoch: Epoch, capacity: usize) -> Self {
        Self {
            epoch,
            answers: Arc::new(Mutex::new(Answers {
                epoch: 0,
                by_key: HashMap::new(),
            })),
            capacity,
        }
    }

    /// The answer for `key`: remembered, or from `look_up` (then remembered
    /// if it is `Some`; `None`, for "unknown" or "failed", is asked again
    /// next time).
    pub async fn get_or_look_up<F>(&self, key: K, look_up: F) -> Option<V>
    where
        F: Future<Output = Option<V>>,
    {
        let epoch = self.epoch.get();
        {
            let answers = self.answers();
            if answers.epoch == epoch {
                if let Some(value) = answers.by_key.get(&key) {
                    return Some(value.clone());
                }
            }
        }
        let value = look_up.await?;
        let now = self.epoch.get();
        if now == epoch {
            let mut answers = self.answers();
            if answers.epoch != now || answers.by_key.len() >= self.capacity {
                answers.epoch = now;
                answers.by_key.clear();
            }
            answers.by_key.insert(key, value.clone());
        }
        Some(value)
    }

    /// Forgets `key` now, without waiting for the epoch to move.
    pub fn forget(&self, key: &K) {
        self.answers().by_key.remove(key);
    }

    fn answers(&self) -> std::sync::MutexGuard<'_, Answers<K, V>> {
        self.answers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::User;

    fn member(name: &str, groups: &[&str]) -> Member {
        Member {
            user: User {
                id: 1,
                name: name.to_owned(),
                is_admin: false,
            },
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    #[test]
    fn principals_round_trip() {
        for s in ["user:alice", "group:team", "signed-in", "anonymous"] {
            assert_eq!(s.parse::<Principal>().unwrap().to_string(), s);
        }
        assert!("everyone".parse::<Principal>().is_err());
        assert!("user:".parse::<Principal>().is_err());
        let json = serde_json::to_string(&Permissions {
            inherit: false,
            view: vec![Principal::Group("team".into())],
            edit: vec![],
        })
        .unwrap();
        assert_eq!(json, r#"{"inherit":false,"view":["group:team"],"edit":[]}"#);
    }

    #[test]
    fn rules_grade_access() {
        let rules = Rules {
            view: vec![Principal::Group("team".into())],
            edit: vec![Principal::User("bob".into())],
        };
        let alice = member("alice", &["team"]);
        let bob = member("bob", &[]);
        let carol = member("carol", &["other"]);
        let mut admin = member("root", &[]);
        admin.user.is_admin = true;
        assert_eq!(rules.access(Some(&alice)), Access::Read);
        assert_eq!(rules.access(Some(&bob)), Access::Write);
        assert_eq!(rules.access(Some(&carol)), Access::None);
        assert_eq!(rules.access(None), Access::None);
        assert_eq!(rules.access(Some(&admin)), Access::Admin);
        let defaults = default_rules();
        assert_eq!(defaults.access(None), Access::Read);
        assert_eq!(defaults.access(Some(&carol)), Access::Write);
    }

    #[tokio::test]
    async fn epoch_cache_keeps_answers_until_the_epoch_moves() {
        let epoch = Epoch::default();
        let cache = EpochCache::<&str, u32>::new(epoch.clone(), 10);
        assert_eq!(cache.get_or_look_up("a", async { Some(1) }).await, Some(1));
        assert_eq!(cache.get_or_look_up("a", async { Some(2) }).await, Some(1));
        // "None" answers are not remembered.
        assert_eq!(cache.get_or_look_up("b", async { None }).await, None);
        assert_eq!(cache.get_or_look_up("b", async { Some(3) }).await, Some(3));
        cache.forget(&"b");
        assert_eq!(cache.get_or_look_up("b", async { Some(4) }).await, Some(4));

        epoch.observe(1);
        assert_eq!(cache.get_or_look_up("a", async { Some(5) }).await, Some(5));

        // An answer worked out while the epoch moved is used but not kept.
        let moving = async {
            epoch.observe(2);
            Some(6)
        };
        assert_eq!(cache.get_or_look_up("c", moving).await, Some(6));
        assert_eq!(cache.get_or_look_up("c", async { Some(7) }).await, Some(7));
    }
}
