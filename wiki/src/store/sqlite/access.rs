//! The SQLite store's page permissions: own grants, the rules in force, and
//! the whole-tree access map.

use super::*;

fn grants(
    conn: &Connection,
    page_id: i64,
) -> anyhow::Result<(Vec<model::Principal>, Vec<model::Principal>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, principal FROM page_grants WHERE page_id = ?1 ORDER BY kind, principal",
    )?;
    let rows: Vec<(String, String)> = stmt
        .query_map([page_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(model::split_grants(rows))
}

pub(super) async fn permissions(store: &SqliteStore, page_id: i64) -> anyhow::Result<Permissions> {
    store
        .call(move |conn| {
            let inherit: bool = conn.query_row(
                "SELECT inherit FROM pages WHERE id = ?1",
                [page_id],
                |row| row.get(0),
            )?;
            let (view, edit) = grants(conn, page_id)?;
            Ok(Permissions {
                inherit,
                view,
                edit,
            })
        })
        .await
}

pub(super) async fn set_permissions(
    store: &SqliteStore,
    page_id: i64,
    perms: &Permissions,
) -> anyhow::Result<()> {
    let perms = perms.clone();
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            bump_epoch(&tx)?;
            tx.execute(
                "UPDATE pages SET inherit = ?1 WHERE id = ?2",
                params![perms.inherit, page_id],
            )?;
            tx.execute("DELETE FROM page_grants WHERE page_id = ?1", [page_id])?;
            {
                let mut insert = tx.prepare(
                    "INSERT OR IGNORE INTO page_grants(page_id, kind, principal)
                 VALUES (?1, ?2, ?3)",
                )?;
                for (kind, list) in [("view", &perms.view), ("edit", &perms.edit)] {
                    for principal in list {
                        insert.execute(params![page_id, kind, principal.to_string()])?;
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
}

pub(super) async fn effective_rules(store: &SqliteStore, page_id: i64) -> anyhow::Result<Rules> {
    store
        .call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "WITH RECURSIVE chain(id, parent_id, inherit, depth) AS (
                 SELECT id, parent_id, inherit, 0 FROM pages WHERE id = ?1
                 UNION ALL
                 SELECT p.id, p.parent_id, p.inherit, c.depth + 1
                 FROM pages p JOIN chain c ON p.id = c.parent_id
                 WHERE c.depth < 256
             )
             SELECT id FROM chain WHERE inherit = 0 ORDER BY depth LIMIT 1",
            )?;
            let owner: Option<i64> = stmt
                .query_map([page_id], |row| row.get(0))?
                .next()
                .transpose()?;
            match owner {
                Some(owner) => {
                    let (view, edit) = grants(conn, owner)?;
                    Ok(Rules { view, edit })
                }
                None => Ok(model::site_rules(site_readers(conn)?.as_deref())),
            }
        })
        .await
}

pub(super) async fn access_map(store: &SqliteStore) -> anyhow::Result<AccessMap> {
    store
        .call(|conn| {
            let mut stmt = conn.prepare("SELECT id, parent_id, inherit FROM pages")?;
            let tree = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let mut stmt = conn.prepare("SELECT page_id, kind, principal FROM page_grants")?;
            let grants = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let site = model::site_rules(site_readers(conn)?.as_deref());
            Ok(AccessMap::from_rows(tree, grants).with_site_rules(site))
        })
        .await
}

/// The stored [`model::SITE_READERS_KEY`], if any.
fn site_readers(conn: &rusqlite::Connection) -> anyhow::Result<Option<String>> {
    use rusqlite::OptionalExtension as _;
    Ok(conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [model::SITE_READERS_KEY],
            |row| row.get(0),
        )
        .optional()?)
}
