//! Pages: a tree of markdown documents addressed by path (`Team/Planning`),
//! with revisions recording who changed what and when.
//!
//! A page's integer id is its [`protocol::PageId`] (as a string). Paths are
//! made of segments separated by `/`; each page's parent is the page at its
//! path minus the last segment, and writing a deep path creates missing
//! ancestors as empty pages. A revision is recorded only when the title or
//! markdown actually change, so rewriting identical content is free.
//!
//! The full-text index (`pages_fts`, see [`crate::search`]) follows the
//! `pages` table through triggers, so every write here keeps it in sync.
//! Moving and deleting change who can reach a page (its ancestor chain), so
//! both bump the ACL epoch.

use anyhow::{bail, Context as _};
use rusqlite::{params, Connection, OptionalExtension as _, Row};
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

const COLUMNS: &str =
    "id, parent_id, path, title, markdown, time_zone, inherit, updated_at, updated_by";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Page> {
    Ok(Page {
        id: row.get(0)?,
        parent_id: row.get(1)?,
        path: PagePath(row.get(2)?),
        title: row.get(3)?,
        markdown: row.get(4)?,
        time_zone: row.get(5)?,
        inherit: row.get(6)?,
        updated_at: row.get(7)?,
        updated_by: row.get(8)?,
    })
}

/// A page by path.
pub fn by_path(conn: &Connection, path: &PagePath) -> anyhow::Result<Option<Page>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM pages WHERE path = ?1"),
            [path.as_str()],
            from_row,
        )
        .optional()?)
}

/// A page by id.
pub fn by_id(conn: &Connection, id: i64) -> anyhow::Result<Option<Page>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM pages WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// A page's direct children, by title.
pub fn children(conn: &Connection, id: i64) -> anyhow::Result<Vec<Page>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM pages WHERE parent_id = ?1 ORDER BY title COLLATE NOCASE, path"
    ))?;
    let pages = stmt.query_map([id], from_row)?.collect::<Result<_, _>>()?;
    Ok(pages)
}

/// Top-level pages, by title.
pub fn roots(conn: &Connection) -> anyhow::Result<Vec<Page>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM pages WHERE parent_id IS NULL ORDER BY title COLLATE NOCASE"
    ))?;
    let pages = stmt.query_map([], from_row)?.collect::<Result<_, _>>()?;
    Ok(pages)
}

/// The page's ancestors, root first (the page itself excluded).
pub fn ancestors(conn: &Connection, page: &Page) -> anyhow::Result<Vec<Page>> {
    let mut chain = Vec::new();
    let mut next = page.parent_id;
    while let Some(id) = next {
        let parent = by_id(conn, id)?.context("dangling parent id")?;
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
pub fn nearest_existing(conn: &Connection, path: &PagePath) -> anyhow::Result<Option<Page>> {
    let mut cursor = Some(path.clone());
    while let Some(path) = cursor {
        if let Some(page) = by_path(conn, &path)? {
            return Ok(Some(page));
        }
        cursor = path.parent();
    }
    Ok(None)
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
/// page. Runs in one transaction.
pub fn put(
    conn: &mut Connection,
    path: &PagePath,
    title: Option<&str>,
    markdown: &str,
    author: &str,
) -> anyhow::Result<Written> {
    let tx = conn.transaction()?;
    let written = put_in_tx(&tx, path, title, markdown, author)?;
    tx.commit()?;
    Ok(written)
}

/// [`put`] inside a transaction the caller manages (batch imports).
pub fn put_in_tx(
    conn: &Connection,
    path: &PagePath,
    title: Option<&str>,
    markdown: &str,
    author: &str,
) -> anyhow::Result<Written> {
    let title = title.map(str::trim).filter(|t| !t.is_empty());
    if let Some(page) = by_path(conn, path)? {
        let title = title.unwrap_or(&page.title);
        if page.title == title && page.markdown == markdown {
            return Ok(Written {
                id: page.id,
                created: false,
                changed: false,
            });
        }
        conn.execute(
            "UPDATE pages SET title = ?1, markdown = ?2, updated_at = ?3, updated_by = ?4
             WHERE id = ?5",
            params![title, markdown, crate::db::now(), author, page.id],
        )?;
        record_revision(conn, page.id, title, markdown, author)?;
        return Ok(Written {
            id: page.id,
            created: false,
            changed: true,
        });
    }
    let parent_id = match path.parent() {
        Some(parent) => Some(ensure(conn, &parent, author)?),
        None => None,
    };
    let title = title.unwrap_or(path.name());
    let id = insert(conn, parent_id, path, title, markdown, author)?;
    Ok(Written {
        id,
        created: true,
        changed: true,
    })
}

/// The id of the page at `path`, creating it (and its ancestors) empty.
fn ensure(conn: &Connection, path: &PagePath, author: &str) -> anyhow::Result<i64> {
    if let Some(page) = by_path(conn, path)? {
        return Ok(page.id);
    }
    let parent_id = match path.parent() {
        Some(parent) => Some(ensure(conn, &parent, author)?),
        None => None,
    };
    insert(conn, parent_id, path, path.name(), "", author)
}

fn insert(
    conn: &Connection,
    parent_id: Option<i64>,
    path: &PagePath,
    title: &str,
    markdown: &str,
    author: &str,
) -> anyhow::Result<i64> {
    // New pages take their parent's time zone.
    let time_zone: String = match parent_id {
        Some(parent) => conn.query_row(
            "SELECT time_zone FROM pages WHERE id = ?1",
            [parent],
            |row| row.get(0),
        )?,
        None => "UTC".to_owned(),
    };
    conn.execute(
        "INSERT INTO pages(parent_id, path, title, markdown, time_zone, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            parent_id,
            path.as_str(),
            title,
            markdown,
            time_zone,
            crate::db::now(),
            author
        ],
    )?;
    let id = conn.last_insert_rowid();
    record_revision(conn, id, title, markdown, author)?;
    Ok(id)
}

fn record_revision(
    conn: &Connection,
    page_id: i64,
    title: &str,
    markdown: &str,
    author: &str,
) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO page_revisions(page_id, title, markdown, author, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![page_id, title, markdown, author, crate::db::now()],
    )?;
    Ok(())
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

/// A page's revisions, newest first.
pub fn revisions(conn: &Connection, page_id: i64) -> anyhow::Result<Vec<Revision>> {
    let mut stmt = conn.prepare(
        "SELECT id, title, markdown, author, created_at FROM page_revisions
         WHERE page_id = ?1 ORDER BY id DESC",
    )?;
    let revisions = stmt
        .query_map([page_id], |row| {
            Ok(Revision {
                id: row.get(0)?,
                title: row.get(1)?,
                markdown: row.get(2)?,
                author: row.get(3)?,
                created_at: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(revisions)
}

/// One revision of a page, or `None`.
pub fn revision(conn: &Connection, page_id: i64, id: i64) -> anyhow::Result<Option<Revision>> {
    Ok(conn
        .query_row(
            "SELECT id, title, markdown, author, created_at FROM page_revisions
             WHERE page_id = ?1 AND id = ?2",
            [page_id, id],
            |row| {
                Ok(Revision {
                    id: row.get(0)?,
                    title: row.get(1)?,
                    markdown: row.get(2)?,
                    author: row.get(3)?,
                    created_at: row.get(4)?,
                })
            },
        )
        .optional()?)
}

/// Deletes a page that has no children (their fate must be decided first).
pub fn delete(conn: &Connection, page_id: i64) -> anyhow::Result<()> {
    let children: i64 = conn.query_row(
        "SELECT COUNT(*) FROM pages WHERE parent_id = ?1",
        [page_id],
        |row| row.get(0),
    )?;
    if children > 0 {
        bail!("move or delete this page's {children} child page(s) first");
    }
    crate::acl::bump_epoch(conn)?;
    conn.execute("DELETE FROM pages WHERE id = ?1", [page_id])?;
    Ok(())
}

/// Moves (renames) a page and its whole subtree to `to`, creating missing
/// ancestors of `to`. Fails if `to` exists or lies inside the subtree.
pub fn move_page(
    conn: &mut Connection,
    page_id: i64,
    to: &PagePath,
    author: &str,
) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    let page = by_id(&tx, page_id)?.context("no such page")?;
    let from = page.path.as_str().to_owned();
    if to.as_str() == from {
        return Ok(());
    }
    if to.as_str().starts_with(&format!("{from}/")) {
        bail!("a page cannot move below itself");
    }
    if by_path(&tx, to)?.is_some() {
        bail!("a page already exists at {to}");
    }
    let parent_id = match to.parent() {
        Some(parent) => Some(ensure(&tx, &parent, author)?),
        None => None,
    };
    // Rewrite the prefix of every path in the subtree.
    tx.execute(
        "UPDATE pages SET path = ?1 || substr(path, ?2)
         WHERE path = ?3 OR substr(path, 1, ?4) = ?3 || '/'",
        params![
            to.as_str(),
            from.len() as i64 + 1,
            from,
            from.len() as i64 + 1
        ],
    )?;
    tx.execute(
        "UPDATE pages SET parent_id = ?1, updated_at = ?2, updated_by = ?3 WHERE id = ?4",
        params![parent_id, crate::db::now(), author, page_id],
    )?;
    crate::acl::bump_epoch(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Sets a page's time zone (an IANA name such as `Europe/Berlin`).
pub fn set_time_zone(conn: &Connection, page_id: i64, zone: &str) -> anyhow::Result<()> {
    if zone.parse::<chrono_tz::Tz>().is_err() {
        bail!("unknown time zone {zone:?}");
    }
    conn.execute(
        "UPDATE pages SET time_zone = ?1 WHERE id = ?2",
        params![zone, page_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    fn path(s: &str) -> PagePath {
        PagePath::parse(s).unwrap()
    }

    #[test]
    fn paths_validate() {
        assert_eq!(path("/Team/Planning/").as_str(), "Team/Planning");
        assert_eq!(path("Team/Planning").parent(), Some(path("Team")));
        assert_eq!(path("Team/Planning").name(), "Planning");
        assert_eq!(path("My Room/a&b").url(), "/pages/My%20Room/a%26b");
        for bad in ["", "/", "a//b", "a/../b", " a", "a\nb"] {
            assert!(PagePath::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(segment_from(" a/b "), "a-b");
        assert_eq!(segment_from(".."), "-");
    }

    #[test]
    fn put_creates_ancestors_and_records_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("wiki.db")).unwrap();
        db.call_blocking(|c| {
            let leaf = put(c, &path("A/B/C"), Some("Leaf"), "hello", "alice")?;
            assert!(leaf.created && leaf.changed);
            let b = by_path(c, &path("A/B"))?.unwrap();
            assert_eq!(b.title, "B");
            assert_eq!(b.markdown, "");
            let c_page = by_id(c, leaf.id)?.unwrap();
            assert_eq!(c_page.parent_id, Some(b.id));
            assert_eq!(c_page.title, "Leaf");
            let titles: Vec<_> = ancestors(c, &c_page)?
                .into_iter()
                .map(|p| p.title)
                .collect();
            assert_eq!(titles, ["A", "B"]);

            let again = put(c, &path("A/B/C"), None, "hello", "bob")?;
            assert!(!again.changed);
            assert_eq!(revisions(c, leaf.id)?.len(), 1);
            let edit = put(c, &path("A/B/C"), None, "hello again", "bob")?;
            assert!(edit.changed && !edit.created);
            let history = revisions(c, leaf.id)?;
            assert_eq!(history.len(), 2);
            assert_eq!(history[0].author, "bob");
            assert_eq!(history[0].markdown, "hello again");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn move_rewrites_the_subtree() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("wiki.db")).unwrap();
        db.call_blocking(|c| {
            put(c, &path("A/B/C"), None, "c", "x")?;
            put(c, &path("AB"), None, "not in the subtree", "x")?;
            let b = by_path(c, &path("A/B"))?.unwrap();
            move_page(c, b.id, &path("Z/Y"), "x")?;
            assert!(by_path(c, &path("A/B/C"))?.is_none());
            let moved = by_path(c, &path("Z/Y/C"))?.unwrap();
            assert_eq!(moved.markdown, "c");
            assert!(by_path(c, &path("AB"))?.is_some());
            let y = by_path(c, &path("Z/Y"))?.unwrap();
            let z = by_path(c, &path("Z"))?.unwrap();
            assert_eq!(y.parent_id, Some(z.id));
            assert!(move_page(c, y.id, &path("Z/Y/C/D"), "x").is_err());
            assert!(delete(c, y.id).is_err());
            delete(c, moved.id)?;
            delete(c, y.id)?;
            Ok(())
        })
        .unwrap();
    }
}
