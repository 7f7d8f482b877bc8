//! The SQLite store's pages: reading, writing with missing ancestors and
//! revisions, moving and deleting.

use super::*;

fn by_path(conn: &Connection, path: &PagePath) -> anyhow::Result<Option<Page>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM pages WHERE path = ?1"),
            [path.as_str()],
            page_from_row,
        )
        .optional()?)
}

fn by_id(conn: &Connection, id: i64) -> anyhow::Result<Option<Page>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM pages WHERE id = ?1"),
            [id],
            page_from_row,
        )
        .optional()?)
}

/// One page write inside the caller's transaction.
fn put(conn: &Connection, write: &PageWrite, author: &str) -> anyhow::Result<Written> {
    if let Some(page) = by_path(conn, &write.path)? {
        let title = crate::store::title_for(write.title.as_deref(), Some(&page.title), &write.path);
        if page.title == title && page.markdown == write.markdown {
            return Ok(Written {
                id: page.id,
                created: false,
                changed: false,
            });
        }
        conn.execute(
            "UPDATE pages SET title = ?1, markdown = ?2, updated_at = ?3, updated_by = ?4
             WHERE id = ?5",
            params![title, write.markdown, crate::store::now(), author, page.id],
        )?;
        record_revision(conn, page.id, title, &write.markdown, author)?;
        if write.keep == Keep::Latest {
            conn.execute(
                "DELETE FROM page_revisions WHERE page_id = ?1
                 AND id < (SELECT MAX(id) FROM page_revisions WHERE page_id = ?1)",
                [page.id],
            )?;
        }
        return Ok(Written {
            id: page.id,
            created: false,
            changed: true,
        });
    }
    let parent_id = match write.path.parent() {
        Some(parent) => Some(ensure(conn, &parent, author)?),
        None => None,
    };
    let title = crate::store::title_for(write.title.as_deref(), None, &write.path);
    let id = insert(conn, parent_id, &write.path, title, &write.markdown, author)?;
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
            crate::store::now(),
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
        params![page_id, title, markdown, author, crate::store::now()],
    )?;
    Ok(())
}

pub(super) async fn page_by_path(
    store: &SqliteStore,
    path: &PagePath,
) -> anyhow::Result<Option<Page>> {
    let path = path.clone();
    store.call(move |conn| by_path(conn, &path)).await
}

pub(super) async fn page_by_id(store: &SqliteStore, id: i64) -> anyhow::Result<Option<Page>> {
    store.call(move |conn| by_id(conn, id)).await
}

pub(super) async fn children(store: &SqliteStore, id: i64) -> anyhow::Result<Vec<Page>> {
    store
        .call(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM pages WHERE parent_id = ?1
             ORDER BY title COLLATE NOCASE, path"
            ))?;
            let pages = stmt
                .query_map([id], page_from_row)?
                .collect::<Result<_, _>>()?;
            Ok(pages)
        })
        .await
}

pub(super) async fn roots(store: &SqliteStore) -> anyhow::Result<Vec<Page>> {
    store
        .call(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM pages WHERE parent_id IS NULL ORDER BY title COLLATE NOCASE"
            ))?;
            let pages = stmt
                .query_map([], page_from_row)?
                .collect::<Result<_, _>>()?;
            Ok(pages)
        })
        .await
}

pub(super) async fn put_pages(
    store: &SqliteStore,
    pages: Vec<PageWrite>,
    author: &str,
) -> anyhow::Result<Vec<Written>> {
    let author = author.to_owned();
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            let mut written = Vec::with_capacity(pages.len());
            for write in &pages {
                written.push(
                    put(&tx, write, &author).with_context(|| format!("writing {}", write.path))?,
                );
            }
            tx.commit()?;
            Ok(written)
        })
        .await
}

pub(super) async fn revisions(
    store: &SqliteStore,
    page_id: i64,
    before: Option<i64>,
    limit: usize,
) -> anyhow::Result<Vec<RevisionInfo>> {
    let before = before.unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    store
        .call(move |conn| {
            // The byte length of a blob cast reads no more than the one row.
            let mut stmt = conn.prepare_cached(
                "SELECT id, title, author, created_at, length(CAST(markdown AS BLOB))
                 FROM page_revisions WHERE page_id = ?1 AND id < ?2
                 ORDER BY id DESC LIMIT ?3",
            )?;
            let revisions = stmt
                .query_map(params![page_id, before, limit], revision_info_from_row)?
                .collect::<Result<_, _>>()?;
            Ok(revisions)
        })
        .await
}

pub(super) async fn revision(
    store: &SqliteStore,
    page_id: i64,
    id: i64,
) -> anyhow::Result<Option<Revision>> {
    store
        .call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT id, title, markdown, author, created_at FROM page_revisions
                 WHERE page_id = ?1 AND id = ?2",
                    [page_id, id],
                    revision_from_row,
                )
                .optional()?)
        })
        .await
}

pub(super) async fn delete_page(store: &SqliteStore, page_id: i64) -> anyhow::Result<()> {
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            let children: i64 = tx.query_row(
                "SELECT COUNT(*) FROM pages WHERE parent_id = ?1",
                [page_id],
                |row| row.get(0),
            )?;
            if children > 0 {
                bail!("move or delete this page's {children} child page(s) first");
            }
            bump_epoch(&tx)?;
            tx.execute("DELETE FROM pages WHERE id = ?1", [page_id])?;
            tx.commit()?;
            Ok(())
        })
        .await
}

pub(super) async fn move_page(
    store: &SqliteStore,
    page_id: i64,
    to: &PagePath,
    author: &str,
) -> anyhow::Result<()> {
    let (to, author) = (to.clone(), author.to_owned());
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            let page = by_id(&tx, page_id)?.context("no such page")?;
            let from = page.path.as_str().to_owned();
            if to.as_str() == from {
                return Ok(());
            }
            if to.as_str().starts_with(&format!("{from}/")) {
                bail!("a page cannot move below itself");
            }
            if by_path(&tx, &to)?.is_some() {
                bail!("a page already exists at {to}");
            }
            let parent_id = match to.parent() {
                Some(parent) => Some(ensure(&tx, &parent, &author)?),
                None => None,
            };
            // Rewrite the prefix of every path in the subtree. substr()
            // counts characters, so the prefix length is length(), not the
            // byte length Rust would give.
            tx.execute(
                "UPDATE pages SET path = ?1 || substr(path, length(?2) + 1)
             WHERE path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/'",
                params![to.as_str(), from],
            )?;
            tx.execute(
                "UPDATE pages SET parent_id = ?1, updated_at = ?2, updated_by = ?3 WHERE id = ?4",
                params![parent_id, crate::store::now(), author, page_id],
            )?;
            bump_epoch(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
}

pub(super) async fn set_time_zone(
    store: &SqliteStore,
    page_id: i64,
    zone: &str,
) -> anyhow::Result<()> {
    let zone = zone.to_owned();
    store
        .call(move |conn| {
            conn.execute(
                "UPDATE pages SET time_zone = ?1 WHERE id = ?2",
                params![zone, page_id],
            )?;
            Ok(())
        })
        .await
}
