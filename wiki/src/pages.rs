//! Pages: a tree of markdown documents addressed by path (`Team/Planning`),
//! with revisions recording who changed what and when.
//!
//! A page's integer id is its [`protocol::PageId`] (as a string). Paths are
//! made of segments separated by `/`; each page's parent is the page at its
//! path minus the last segment, and writing a deep path creates missing
//! ancestors as empty pages. A revision is recorded only when the title or
//! markdown actually change, so rewriting identical content is free.
//!
//! The rules live here and the records ([`Page`], [`PagePath`], ...) in
//! [`crate::model`]; the rows live in the wiki's
//! [`Store`](crate::store::Store), whose full-text index follows the pages in
//! the same transactions (FTS5 triggers on SQLite, a generated `tsvector` on
//! PostgreSQL). Moving and deleting change who can reach a page (its
//! ancestor chain), so both bump the ACL epoch.

pub use crate::model::{Page, PagePath, Revision, Written};
use crate::store::{Keep, PageWrite, Store};
use anyhow::{bail, Context as _};

/// Largest markdown body a page may have, written by a person or by the
/// chat (transcripts split a bigger day into parts to fit).
pub const MAX_MARKDOWN_BYTES: usize = 1024 * 1024;

/// The path of the page every install starts with.
pub const WELCOME: &str = "Welcome";

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

/// Creates or updates the page at `path`, creating missing ancestors empty.
/// `title` defaults to the current title, or the last path segment for a new
/// page. One transaction. Every revision is kept.
pub async fn put(
    store: &dyn Store,
    path: &PagePath,
    title: Option<&str>,
    markdown: &str,
    author: &str,
) -> anyhow::Result<Written> {
    write(store, path, title, markdown, author, Keep::All).await
}

/// [`put`] for a page the chat writes (a transcript): only the revision
/// this write records is kept (see [`Keep::Latest`] for why).
pub async fn put_keeping_latest(
    store: &dyn Store,
    path: &PagePath,
    title: Option<&str>,
    markdown: &str,
    author: &str,
) -> anyhow::Result<Written> {
    write(store, path, title, markdown, author, Keep::Latest).await
}

async fn write(
    store: &dyn Store,
    path: &PagePath,
    title: Option<&str>,
    markdown: &str,
    author: &str,
    keep: Keep,
) -> anyhow::Result<Written> {
    let write = PageWrite {
        path: path.clone(),
        title: title.map(str::to_owned),
        markdown: markdown.to_owned(),
        keep,
    };
    store
        .put_pages(vec![write], author)
        .await?
        .pop()
        .context("the store wrote no page")
}

/// Deletes a page without children, then what the chat kept for it (its
/// rooms, messages, files: [`plugin::PageEvent::Deleted`]). The page goes
/// first, so no request can open a room on it afterwards; its id is never
/// given to another page, so a failure in between leaves nothing that a
/// later page could inherit.
pub async fn delete(
    store: &dyn Store,
    chat: &plugin::AppState,
    page_id: i64,
) -> anyhow::Result<()> {
    store.delete_page(page_id).await?;
    chat.page_event(plugin::PageEvent::Deleted(protocol::PageId::new(
        page_id.to_string(),
    )))
    .await
    .context("removing a deleted page's chat rooms")?;
    Ok(())
}

/// Removes the chat rooms of pages that no longer exist, and returns how
/// many went: pages deleted before deleting a page reached the chat (older
/// versions; such a room would otherwise reattach to a new page given the
/// same id, which an upgraded database's id counter cannot rule out), or
/// whose chat removal failed half-way. `serve` runs it once before serving.
/// Rooms of page ids that cannot be this wiki's are left alone.
pub async fn remove_orphaned_rooms(
    store: &dyn Store,
    rooms: &dyn plugin::StoreMaintenance,
    chat: &plugin::AppState,
) -> anyhow::Result<usize> {
    let mut checked = std::collections::HashSet::new();
    let mut removed = 0;
    // Group and direct rooms have no page to lose.
    for page in rooms
        .rooms()
        .await?
        .into_iter()
        .filter_map(|room| room.page)
    {
        if !checked.insert(page.clone()) {
            continue;
        }
        let Ok(id) = page.as_str().parse::<i64>() else {
            continue;
        };
        if store.page_by_id(id).await?.is_none() {
            let event = plugin::PageEvent::Deleted(page);
            removed += chat.page_event(event).await?.rooms.len();
        }
    }
    Ok(removed)
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
