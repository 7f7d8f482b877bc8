//! The records the wiki stores and reads back: pages and their paths,
//! revisions, accounts, and page permissions with the rules they decide
//! access by.
//!
//! This is the bottom layer: the [`Store`](crate::store::Store) takes and
//! returns these types, and the modules above it ([`crate::pages`],
//! [`crate::users`], [`crate::acl`]) hold the rules that use them (and
//! re-export them, so callers name a page type through `pages`). Nothing
//! here touches the database or the web.

use anyhow::bail;
use plugin::Access;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

// ---- pages ------------------------------------------------------------------

/// A validated page path: 1 to 32 non-empty segments without control
/// characters, `.`/`..`, or surrounding spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PagePath(String);

impl PagePath {
    pub fn parse(path: &str) -> anyhow::Result<PagePath> {
        let path = path.trim_matches('/');
        if path.is_empty() {
            bail!("a page path needs at least one segment");
        }
        let segments: Vec<&str> = path.split('/').collect();
        if segments.len() > 32 {
            bail!("page paths are at most 32 levels deep");
        }
        for segment in &segments {
            check_segment(segment)?;
        }
        Ok(PagePath(segments.join("/")))
    }

    /// The path of `segment` below `self`.
    pub fn child(&self, segment: &str) -> anyhow::Result<PagePath> {
        PagePath::parse(&format!("{}/{}", self.0, segment))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment: the default title.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The parent's path, `None` for a top-level page.
    pub fn parent(&self) -> Option<PagePath> {
        self.0
            .rsplit_once('/')
            .map(|(parent, _)| PagePath(parent.to_owned()))
    }

    /// Every ancestor's path, root first (`A/B/C` gives `A`, `A/B`).
    pub fn ancestors(&self) -> Vec<PagePath> {
        let mut chain = Vec::new();
        let mut cursor = self.parent();
        while let Some(path) = cursor {
            cursor = path.parent();
            chain.push(path);
        }
        chain.reverse();
        chain
    }

    /// A path read back from the store, which only ever holds parsed ones.
    pub(crate) fn from_stored(path: String) -> PagePath {
        PagePath(path)
    }

    /// Where a browser reads this page: `/pages/` + the path with each
    /// segment percent-encoded.
    pub fn url(&self) -> String {
        let mut url = String::from("/pages/");
        for (i, segment) in self.segments().enumerate() {
            if i > 0 {
                url.push('/');
            }
            url.extend(percent_encoding::utf8_percent_encode(segment, SEGMENT));
        }
        url
    }
}

/// Characters escaped in a URL path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl fmt::Display for PagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_segment(segment: &str) -> anyhow::Result<()> {
    if segment.is_empty() {
        bail!("page path segments may not be empty");
    }
    if segment == "." || segment == ".." {
        bail!("page path segments may not be . or ..");
    }
    if segment.trim() != segment {
        bail!("page path segment {segment:?} has leading or trailing spaces");
    }
    if segment.chars().any(char::is_control) {
        bail!("page path segments may not contain control characters");
    }
    if segment.len() > 200 {
        bail!("page path segments are at most 200 bytes");
    }
    Ok(())
}

/// A stored page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub path: PagePath,
    pub title: String,
    pub markdown: String,
    /// IANA zone name; transcript days are cut at its midnight.
    pub time_zone: String,
    /// Whether the page uses its parent's permissions.
    pub inherit: bool,
    pub updated_at: String,
    pub updated_by: String,
}

/// What [`crate::pages::put`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub id: i64,
    pub created: bool,
    /// False when the page already had exactly this title and markdown.
    pub changed: bool,
}

/// One entry of a page's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub id: i64,
    pub title: String,
    pub markdown: String,
    pub author: String,
    pub created_at: String,
}

/// A revision as a history listing shows it: everything but the body, whose
/// size stands in for it (a listing never loads every body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionInfo {
    pub id: i64,
    pub title: String,
    pub author: String,
    pub created_at: String,
    /// The markdown's length in bytes.
    pub bytes: i64,
}

// ---- accounts ---------------------------------------------------------------

/// A stored account (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    /// Admins have Admin access on every page and manage users and groups.
    pub is_admin: bool,
}

/// A user together with the names of their groups: everything a permission
/// check needs to know about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub groups: Vec<String>,
}

// ---- permissions ------------------------------------------------------------

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

/// The `settings` key saying who may read pages with no rules up their
/// chain: `signed-in`, or `anonymous` (also when the key is missing, as on
/// installs from before the key existed). Fresh installs are given
/// `signed-in` ([`crate::install`]).
pub const SITE_READERS_KEY: &str = "acl.site_readers";

/// The site-wide rules used when no page up the chain has its own, on an
/// install without [`SITE_READERS_KEY`]: anyone may read, signed-in users
/// may edit.
pub fn default_rules() -> Rules {
    site_rules(None)
}

/// The site-wide rules for a [`SITE_READERS_KEY`] value.
pub fn site_rules(readers: Option<&str>) -> Rules {
    let reader = match readers {
        Some("signed-in") => Principal::SignedIn,
        _ => Principal::Anonymous,
    };
    Rules {
        view: vec![reader],
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

/// Everything needed to decide access on many pages at once (search results):
/// each page's parent and inherit flag, and the grants of every page with
/// its own rules. Loaded in two queries; answers are memoised per page.
pub struct AccessMap {
    /// page id -> (parent id, inherit).
    tree: HashMap<i64, (Option<i64>, bool)>,
    /// Own rules of non-inheriting pages.
    rules: HashMap<i64, Rules>,
    /// The site-wide rules ([`site_rules`]).
    site: Rules,
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
            site: default_rules(),
            memo: HashMap::new(),
        }
    }

    /// The same map with `site` as the rules of pages with none up their
    /// chain.
    pub fn with_site_rules(mut self, site: Rules) -> AccessMap {
        self.site = site;
        self.memo.clear();
        self
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
        let access = answer.unwrap_or_else(|| self.site.access(who));
        for id in path {
            self.memo.insert(id, access);
        }
        access
    }
}
