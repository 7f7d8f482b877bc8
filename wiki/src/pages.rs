//! Pages: a tree of markdown documents addressed by path (`Team/Planning`),
//! with revisions recording who changed what and when.
//!
//! A page's integer id is its [`protocol::PageId`] (as a string). Paths are
//! made of segments separated by `/`; each page's parent is the page at its
//! path minus the last segment, and writing a deep path creates missing
//! ancestors as empty pages. A revision is recorded only when the title or
//! markdown actually change, so rewriting identical content is free.
//!
//! The types and rules live here; the rows live in the wiki's
//! [`Store`](crate::store::Store), whose full-text index follows the pages in
//! the same transactions (FTS5 triggers on SQLite, a generated `tsvector` on
//! PostgreSQL). Moving and deleting change who can reach a page (its
//! ancestor chain), so both bump the ACL epoch.

use crate::store::{PageWrite, Store};
use anyhow::{bail, Context as _};
use std::fmt;

/// The path of the page every install starts with.
pub const WELCOME: &str = "Welcome";

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

/// Turns any title into a usable path segment: `/` and control characters
/// become `-`, spaces are trimmed, and an empty result becomes `-`.
pub fn segment_from(title: &str) -> String {
    let cleaned: String = title
        .trim()
        .chars()
        .map(|c| if c == '/' || c.is_control() { '-' } else { c })
        .take(200)
        .collect();
    match cleaned.trim() {
        "" | "." | ".." => "-".to_owned(),
        s => s.to_owned(),
    }
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

/// What [`put`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub id: i64,
    pub created: bool,
    /// False when the page already had exactly this title and markdown.
    pub changed: bool,
}

/// Creates or updates the page at `path`, creating missing ancestors empty.
/// `title` defaults to the current title, or the last path segment for a new
/// page. One transaction.
pub async fn put(
    store: &dyn Store,
    path: &PagePath,
    title: Option<&str>,
    markdown: &str,
    author: &str,
) -> anyhow::Result<Written> {
    let write = PageWrite {
        path: path.clone(),
        title: title.map(str::to_owned),
        markdown: markdown.to_owned(),
    };
    store
        .put_pages(vec![write], author)
        .await?
        .pop()
        .context("the store wrote no page")
}

/// The page's ancestors, root first (the page itself excluded).
pub async fn ancestors(store: &dyn Store, page: &Page) -> anyhow::Result<Vec<Page>> {
    let mut chain = Vec::new();
    let mut next = page.parent_id;
    while let Some(id) = next {
        let parent = store.page_by_id(id).await?.context("dangling parent id")?;
        next = parent.parent_id;
        chain.push(parent);
        if chain.len() > 256 {
            bail!("page tree has a cycle above {}", page.path);
        }
    }
    chain.reverse();
    Ok(chain)
}

/// The nearest existing page at `path` or above it: whose permissions a page
/// created at `path` would inherit.
pub async fn nearest_existing(store: &dyn Store, path: &PagePath) -> anyhow::Result<Option<Page>> {
    let mut cursor = Some(path.clone());
    while let Some(path) = cursor {
        if let Some(page) = store.page_by_path(&path).await? {
            return Ok(Some(page));
        }
        cursor = path.parent();
    }
    Ok(None)
}

/// Sets a page's time zone (an IANA name such as `Europe/Berlin`).
pub async fn set_time_zone(store: &dyn Store, page_id: i64, zone: &str) -> anyhow::Result<()> {
    if zone.parse::<chrono_tz::Tz>().is_err() {
        bail!("unknown time zone {zone:?}");
    }
    store.set_time_zone(page_id, zone).await
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
#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> PagePath {
        PagePath::parse(s).unwrap()
    }

    #[test]
    fn paths_validate() {
        assert_eq!(path("/Team/Planning/").as_str(), "Team/Planning");
        assert_eq!(path("Team/Planning").parent(), Some(path("Team")));
        assert_eq!(path("Team/Planning").name(), "Planning");
        assert_eq!(path("My Room/a&b").url(), "/pages/My%20Room/a%26b");
        assert_eq!(path("A/B/C").ancestors(), [path("A"), path("A/B")]);
        assert!(path("A").ancestors().is_empty());
        for bad in ["", "/", "a//b", "a/../b", " a", "a\nb"] {
            assert!(PagePath::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(segment_from(" a/b "), "a-b");
        assert_eq!(segment_from(".."), "-");
    }
}
