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
//! **anonymous may view, signed-in users may edit** ([`default_rules`]), so a
//! fresh install's Welcome page works for everyone.
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

use crate::store::Store;
use crate::users::Member;
use anyhow::bail;
use plugin::Access;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Someone a page can grant a right to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    User(String),
    Group(String),
    /// Any signed-in user.
    SignedIn,
    /// Everyone, including readers who are not signed in.
    Anonymous,
}

impl Principal {
    /// Whether `who` (`None` = not signed in) is covered by this principal.
    pub fn matches(&self, who: Option<&Member>) -> bool {
        match (self, who) {
            (Principal::Anonymous, _) => true,
            (Principal::SignedIn, Some(_)) => true,
            (Principal::User(name), Some(m)) => m.user.name.eq_ignore_ascii_case(name),
            (Principal::Group(name), Some(m)) => {
                m.groups.iter().any(|g| g.eq_ignore_ascii_case(name))
            }
            _ => false,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User(name) => write!(f, "user:{name}"),
            Principal::Group(name) => write!(f, "group:{name}"),
            Principal::SignedIn => f.write_str("signed-in"),
            Principal::Anonymous => f.write_str("anonymous"),
        }
    }
}

impl FromStr for Principal {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        let s = s.trim();
        let named = |name: &str| -> anyhow::Result<String> {
            if name.is_empty() || name.len() > 64 {
                bail!("principal {s:?} needs a name");
            }
            Ok(name.to_owned())
        };
        match s {
            "anonymous" => Ok(Principal::Anonymous),
            "signed-in" => Ok(Principal::SignedIn),
            _ => match s.split_once(':') {
                Some(("user", name)) => Ok(Principal::User(named(name)?)),
                Some(("group", name)) => Ok(Principal::Group(named(name)?)),
                _ => bail!(
                    "unknown principal {s:?}: use user:NAME, group:NAME, signed-in or anonymous"
                ),
            },
        }
    }
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A page's own permission settings, as `GET/PUT /api/pages/{path}/permissions`
/// shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Use the parent's rules (the lists below are then kept but unused).
    pub inherit: bool,
    #[serde(default)]
    pub view: Vec<Principal>,
    #[serde(default)]
    pub edit: Vec<Principal>,
}

/// The lists that decide access on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub view: Vec<Principal>,
    pub edit: Vec<Principal>,
}

impl Rules {
    /// What `who` may do under these rules.
    pub fn access(&self, who: Option<&Member>) -> Access {
        if who.is_some_and(|m| m.user.is_admin) {
            Access::Admin
        } else if self.edit.iter().any(|p| p.matches(who)) {
            Access::Write
        } else if self.view.iter().any(|p| p.matches(who)) {
            Access::Read
        } else {
            Access::None
        }
    }
}

/// The site-wide rules used when no page up the chain has its own.
pub fn default_rules() -> Rules {
    Rules {
        view: vec![Principal::Anonymous],
        edit: vec![Principal::SignedIn],
    }
}

/// Splits stored `(kind, principal)` grant rows into the view and edit
/// lists. Rows were validated on the way in; any that no longer parse are
/// skipped.
pub(crate) fn split_grants(
    rows: impl IntoIterator<Item = (String, String)>,
) -> (Vec<Principal>, Vec<Principal>) {
    let (mut view, mut edit) = (Vec::new(), Vec::new());
    for (kind, principal) in rows {
        let Ok(principal) = principal.parse() else {
            continue;
        };
        if kind == "edit" {
            edit.push(principal);
        } else {
            view.push(principal);
        }
    }
    (view, edit)
}

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

/// Resolves `path` for `who`.
pub async fn target(
    store: &dyn Store,
    who: Option<&Member>,
    path: &crate::pages::PagePath,
) -> anyhow::Result<Target> {
    let nearest = crate::pages::nearest_existing(store, path).await?;
    let access = match &nearest {
        Some(page) => access(store, who, page.id).await?,
        None => default_rules().access(who),
    };
    let page = nearest.filter(|page| page.path == *path);
    Ok(Target { page, access })
}

/// Everything needed to decide access on many pages at once (search results):
/// each page's parent and inherit flag, and the grants of every page with
/// its own rules. Loaded in two queries; answers are memoised per page.
pub struct AccessMap {
    /// page id -> (parent id, inherit).
    tree: HashMap<i64, (Option<i64>, bool)>,
    /// Own rules of non-inheriting pages.
    rules: HashMap<i64, Rules>,
    memo: HashMap<i64, Access>,
}

impl AccessMap {
    /// Builds the map from every page's `(id, parent id, inherit)` and
    /// every grant's `(page id, kind, principal)`.
    pub fn from_rows(
        pages: Vec<(i64, Option<i64>, bool)>,
        grants: Vec<(i64, String, String)>,
    ) -> AccessMap {
        let tree: HashMap<i64, (Option<i64>, bool)> = pages
            .into_iter()
            .map(|(id, parent, inherit)| (id, (parent, inherit)))
            .collect();
        let mut own: HashMap<i64, Vec<(String, String)>> = tree
            .iter()
            .filter(|(_, &(_, inherit))| !inherit)
            .map(|(&id, _)| (id, Vec::new()))
            .collect();
        for (page, kind, principal) in grants {
            if let Some(rows) = own.get_mut(&page) {
                rows.push((kind, principal));
            }
        }
        let rules = own
            .into_iter()
            .map(|(id, rows)| {
                let (view, edit) = split_grants(rows);
                (id, Rules { view, edit })
            })
            .collect();
        AccessMap {
            tree,
            rules,
            memo: HashMap::new(),
        }
    }

    /// What `who` may do on `page_id` (`None` for unknown pages). `who` must
    /// be the same for every call on one map.
    pub fn access(&mut self, who: Option<&Member>, page_id: i64) -> Access {
        if let Some(&access) = self.memo.get(&page_id) {
            return access;
        }
        // Walk up to the page whose rules apply, remembering the way.
        let mut path = Vec::new();
        let mut cursor = Some(page_id);
        let mut answer = None;
        while let Some(id) = cursor {
            if let Some(&known) = self.memo.get(&id) {
                answer = Some(known);
                break;
            }
            let Some(&(parent, inherit)) = self.tree.get(&id) else {
                answer = Some(Access::None);
                break;
            };
            path.push(id);
            if !inherit {
                let rules = self.rules.get(&id).cloned().unwrap_or(Rules {
                    view: Vec::new(),
                    edit: Vec::new(),
                });
                answer = Some(rules.access(who));
                break;
            }
            if path.len() > 256 {
                answer = Some(Access::None);
                break;
            }
            cursor = parent;
        }
        let access = answer.unwrap_or_else(|| default_rules().access(who));
        for id in path {
            self.memo.insert(id, access);
        }
        access
    }
}

/// The `settings` key of the ACL epoch counter.
pub(crate) const EPOCH_KEY: &str = "acl.epoch";

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
