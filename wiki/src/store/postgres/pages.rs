//! The PostgreSQL store's pages: reading, writing with missing ancestors and
//! revisions, moving and deleting.

use super::*;

async fn lock_pages(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PAGES_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

async fn by_path(conn: &mut PgConnection, path: &PagePath) -> anyhow::Result<Option<Page>> {
    let row: Option<PageRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM pages WHERE path = $1"))
            .bind(path.as_str())
            .fetch_optional(conn)
            .await?;
    Ok(row.map(page_from))
}

async fn by_id(conn: &mut PgConnection, id: i64) -> anyhow::Result<Option<Page>> {
    let row: Option<PageRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM pages WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(page_from))
}

/// The id of the page at `path`'s parent, creating missing ancestors empty
/// (root first); `None` for a top-level path.
async fn ensure_parent(
    conn: &mut PgConnection,
    path: &PagePath,
    author: &str,
) -> anyhow::Result<Option<i64>> {
    let mut parent_id = None;
    for ancestor in path.ancestors() {
        parent_id = Some(match by_path(&mut *conn, &ancestor).await? {
            Some(page) => page.id,
            None => {
                insert(
                    &mut *conn,
                    parent_id,
                    &ancestor,
                    ancestor.name(),
                    "",
                    author,
                )
                .await?
            }
        });
    }
    Ok(parent_id)
}

async fn insert(
    conn: &mut PgConnection,
    parent_id: Option<i64>,
    path: &PagePath,
    title: &str,
    markdown: &str,
    author: &str,
) -> anyhow::Result<i64> {
    // New pages take their parent's time zone.
    let time_zone: String = match parent_id {
        Some(parent) => {
            sqlx::query_scalar("SELECT time_zone FROM pages WHERE id = $1")
                .bind(parent)
                .fetch_one(&mut *conn)
                .await?
        }
        None => "UTC".to_owned(),
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO pages (parent_id, path, title, markdown, time_zone, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(parent_id)
    .bind(path.as_str())
    .bind(title)
    .bind(markdown)
    .bind(time_zone)
    .bind(crate::store::now())
    .bind(author)
    .fetch_one(&mut *conn)
    .await?;
    record_revision(conn, id, title, markdown, author).await?;
    Ok(id)
}

async fn record_revision(
    conn: &mut PgConnection,
    page_id: i64,
    title: &str,
    markdown: &str,
    author: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO page_revisions (page_id, title, markdown, author, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(page_id)
    .bind(title)
    .bind(markdown)
    .bind(author)
    .bind(crate::store::now())
    .execute(conn)
    .await?;
    Ok(())
}

/// One page write inside the caller's transaction.
async fn put(conn: &mut PgConnection, write: &PageWrite, author: &str) -> anyhow::Result<Written> {
    if let Some(page) = by_path(&mut *conn, &write.path).await? {
        let title = crate::store::title_for(write.title.as_deref(), Some(&page.title), &write.path);
        if page.title == title && page.markdown == write.markdown {
            return Ok(Written {
                id: page.id,
                created: false,
                changed: false,
            });
        }
        sqlx::query(
            "UPDATE pages SET title = $1, markdown = $2, updated_at = $3, updated_by = $4
             WHERE id = $5",
        )
        .bind(title)
        .bind(&write.markdown)
        .bind(crate::store::now())
        .bind(author)
        .bind(page.id)
        .execute(&mut *conn)
        .await?;
        record_revision(&mut *conn, page.id, title, &write.markdown, author).await?;
        if write.keep == Keep::Latest {
            sqlx::query(
                "DELETE FROM page_revisions WHERE page_id = $1
                 AND id < (SELECT max(id) FROM page_revisions WHERE page_id = $1)",
            )
            .bind(page.id)
            .execute(&mut *conn)
            .await?;
        }
        return Ok(Written {
            id: page.id,
            created: false,
            changed: true,
        });
    }
    let parent_id = ensure_parent(&mut *conn, &write.path, author).await?;
    let title = crate::store::title_for(write.title.as_deref(), None, &write.path);
    let id = insert(conn, parent_id, &write.path, title, &write.markdown, author).await?;
    Ok(Written {
        id,
        created: true,
        changed: true,
    })
}

pub(super) async fn page_by_path(
    store: &PostgresStore,
    path: &PagePath,
) -> anyhow::Result<Option<Page>> {
    let mut conn = store.pool.acquire().await?;
    by_path(&mut conn, path).await
}

pub(super) async fn page_by_id(store: &PostgresStore, id: i64) -> anyhow::Result<Option<Page>> {
    let mut conn = store.pool.acquire().await?;
    by_id(&mut conn, id).await
}

pub(super) async fn children(store: &PostgresStore, id: i64) -> anyhow::Result<Vec<Page>> {
    // lower() in the C collation: SQLite's NOCASE order, byte-wise.
    let rows: Vec<PageRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM pages WHERE parent_id = $1
         ORDER BY lower(title) COLLATE \"C\", path"
    ))
    .bind(id)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(page_from).collect())
}

pub(super) async fn roots(store: &PostgresStore) -> anyhow::Result<Vec<Page>> {
    let rows: Vec<PageRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM pages WHERE parent_id IS NULL
         ORDER BY lower(title) COLLATE \"C\", path"
    ))
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(page_from).collect())
}

pub(super) async fn put_pages(
    store: &PostgresStore,
    pages: Vec<PageWrite>,
    author: &str,
) -> anyhow::Result<Vec<Written>> {
    let mut tx = store.pool.begin().await?;
    lock_pages(&mut tx).await?;
    let mut written = Vec::with_capacity(pages.len());
    for write in &pages {
        written.push(
            put(&mut tx, write, author)
                .await
                .with_context(|| format!("writing {}", write.path))?,
        );
    }
    tx.commit().await?;
    Ok(written)
}

pub(super) async fn revisions(
    store: &PostgresStore,
    page_id: i64,
    before: Option<i64>,
    limit: usize,
) -> anyhow::Result<Vec<RevisionInfo>> {
    let rows: Vec<RevisionInfoRow> = sqlx::query_as(
        "SELECT id, title, author, created_at, octet_length(markdown) FROM page_revisions
         WHERE page_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(page_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(revision_info_from).collect())
}

pub(super) async fn revision(
    store: &PostgresStore,
    page_id: i64,
    id: i64,
) -> anyhow::Result<Option<Revision>> {
    let row: Option<RevisionRow> = sqlx::query_as(
        "SELECT id, title, markdown, author, created_at FROM page_revisions
         WHERE page_id = $1 AND id = $2",
    )
    .bind(page_id)
    .bind(id)
    .fetch_optional(&store.pool)
    .await?;
    Ok(row.map(revision_from))
}

pub(super) async fn delete_page(store: &PostgresStore, page_id: i64) -> anyhow::Result<()> {
    let mut tx = store.pool.begin().await?;
    lock_pages(&mut tx).await?;
    let children: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pages WHERE parent_id = $1")
        .bind(page_id)
        .fetch_one(&mut *tx)
        .await?;
    if children > 0 {
        bail!("move or delete this page's {children} child page(s) first");
    }
    bump_epoch(&mut tx).await?;
    sqlx::query("DELETE FROM pages WHERE id = $1")
        .bind(page_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn move_page(
    store: &PostgresStore,
    page_id: i64,
    to: &PagePath,
    author: &str,
) -> anyhow::Result<()> {
    let mut tx = store.pool.begin().await?;
    lock_pages(&mut tx).await?;
    let page = by_id(&mut tx, page_id).await?.context("no such page")?;
    let from = page.path.as_str().to_owned();
    if to.as_str() == from {
        return Ok(());
    }
    if to.as_str().starts_with(&format!("{from}/")) {
        bail!("a page cannot move below itself");
    }
    if by_path(&mut tx, to).await?.is_some() {
        bail!("a page already exists at {to}");
    }
    let parent_id = ensure_parent(&mut tx, to, author).await?;
    // Rewrite the prefix of every path in the subtree (substr counts
    // characters, as char_length does).
    sqlx::query(
        "UPDATE pages SET path = $1 || substr(path, char_length($2) + 1)
         WHERE path = $2 OR starts_with(path, $2 || '/')",
    )
    .bind(to.as_str())
    .bind(&from)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE pages SET parent_id = $1, updated_at = $2, updated_by = $3 WHERE id = $4")
        .bind(parent_id)
        .bind(crate::store::now())
        .bind(author)
        .bind(page_id)
        .execute(&mut *tx)
        .await?;
    bump_epoch(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn set_time_zone(
    store: &PostgresStore,
    page_id: i64,
    zone: &str,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE pages SET time_zone = $1 WHERE id = $2")
        .bind(zone)
        .bind(page_id)
        .execute(&store.pool)
        .await?;
    Ok(())
}
