//! The PostgreSQL store's page permissions: own grants, the rules in force,
//! and the whole-tree access map.

use super::*;

async fn grants(
    conn: &mut PgConnection,
    page_id: i64,
) -> anyhow::Result<(Vec<model::Principal>, Vec<model::Principal>)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, principal FROM page_grants WHERE page_id = $1
         ORDER BY kind COLLATE \"C\", principal COLLATE \"C\"",
    )
    .bind(page_id)
    .fetch_all(conn)
    .await?;
    Ok(model::split_grants(rows))
}

pub(super) async fn permissions(
    store: &PostgresStore,
    page_id: i64,
) -> anyhow::Result<Permissions> {
    let mut conn = store.pool.acquire().await?;
    let inherit: bool = sqlx::query_scalar("SELECT inherit FROM pages WHERE id = $1")
        .bind(page_id)
        .fetch_one(&mut *conn)
        .await?;
    let (view, edit) = grants(&mut conn, page_id).await?;
    Ok(Permissions {
        inherit,
        view,
        edit,
    })
}

pub(super) async fn set_permissions(
    store: &PostgresStore,
    page_id: i64,
    perms: &Permissions,
) -> anyhow::Result<()> {
    let mut tx = store.pool.begin().await?;
    bump_epoch(&mut tx).await?;
    sqlx::query("UPDATE pages SET inherit = $1 WHERE id = $2")
        .bind(perms.inherit)
        .bind(page_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM page_grants WHERE page_id = $1")
        .bind(page_id)
        .execute(&mut *tx)
        .await?;
    for (kind, list) in [("view", &perms.view), ("edit", &perms.edit)] {
        for principal in list {
            sqlx::query(
                "INSERT INTO page_grants (page_id, kind, principal) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(page_id)
            .bind(kind)
            .bind(principal.to_string())
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn effective_rules(store: &PostgresStore, page_id: i64) -> anyhow::Result<Rules> {
    let mut conn = store.pool.acquire().await?;
    let owner: Option<i64> = sqlx::query_scalar(
        "WITH RECURSIVE chain (id, parent_id, inherit, depth) AS (
             SELECT id, parent_id, inherit, 0 FROM pages WHERE id = $1
             UNION ALL
             SELECT p.id, p.parent_id, p.inherit, c.depth + 1
             FROM pages p JOIN chain c ON p.id = c.parent_id
             WHERE c.depth < 256
         )
         SELECT id FROM chain WHERE NOT inherit ORDER BY depth LIMIT 1",
    )
    .bind(page_id)
    .fetch_optional(&mut *conn)
    .await?;
    match owner {
        Some(owner) => {
            let (view, edit) = grants(&mut conn, owner).await?;
            Ok(Rules { view, edit })
        }
        None => Ok(model::site_rules(site_readers(&mut conn).await?.as_deref())),
    }
}

pub(super) async fn access_map(store: &PostgresStore) -> anyhow::Result<AccessMap> {
    let mut tx = store.pool.begin().await?;
    // One snapshot for both queries, as SQLite's read transaction gives.
    tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let tree: Vec<(i64, Option<i64>, bool)> =
        sqlx::query_as("SELECT id, parent_id, inherit FROM pages")
            .fetch_all(&mut *tx)
            .await?;
    let grants: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT page_id, kind, principal FROM page_grants")
            .fetch_all(&mut *tx)
            .await?;
    let site = model::site_rules(site_readers(&mut tx).await?.as_deref());
    tx.commit().await?;
    Ok(AccessMap::from_rows(tree, grants).with_site_rules(site))
}

/// The stored [`model::SITE_READERS_KEY`], if any.
async fn site_readers(conn: &mut sqlx::PgConnection) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(model::SITE_READERS_KEY)
            .fetch_optional(conn)
            .await?,
    )
}
