//! Copying a single-node wiki database (`wiki.db`) into PostgreSQL, the
//! wiki's half of `backchannel migrate` (the chat's half is
//! [`plugin::store::copy`]; both use the engine in [`infra::copy`]).
//!
//! The copy is row for row, table by table, not through the [`Store`]
//! trait: ids (which sessions, grants, revisions and the chat's room pages
//! refer to), password hashes, session tokens, times and authors must arrive
//! exactly as they were, which creating things anew would not preserve. The
//! two schemas are the same tables; only the flags differ in type (SQLite
//! keeps `is_admin` and `inherit` as integers, PostgreSQL as booleans). The
//! search index needs no copy: FTS5 lives in SQLite only, and PostgreSQL's
//! `pages.search` is a generated column that fills itself as rows arrive.
//!
//! The tables are described here; the copying itself (a reader thread on
//! one read transaction, batched inserts, count checks) is
//! [`infra::copy::copy_tables`]. Everything goes in one PostgreSQL
//! transaction, so an interrupted copy leaves the target as it was. The target must hold no wiki data yet (a
//! server started on it first has already made an `admin` and a Welcome
//! page): a merge of two wikis is not a migration.
//!
//! [`Store`]: super::Store

use super::sqlite::SCHEMA_VERSION;
use super::PostgresStore;
use anyhow::{bail, Context as _};
use infra::copy::{continue_ids, copy_tables, open_source, Column, Copied, Kind, Progress, Table};
use sqlx::PgConnection;
use std::path::Path;

use Kind::{Bool, Int, OptInt, OptText, Text};

/// The wiki's tables in copy order (every table after those it refers to).
static TABLES: [Table; 8] = [
    Table {
        name: "users",
        columns: &[
            Column::new("id", Int),
            Column::new("name", Text),
            Column::new("password_hash", Text),
            Column::new("is_admin", Bool),
            Column::new("created_at", Text),
        ],
        order: "id",
    },
    Table {
        name: "groups",
        columns: &[Column::new("id", Int), Column::new("name", Text)],
        order: "id",
    },
    Table {
        name: "group_members",
        columns: &[Column::new("group_id", Int), Column::new("user_id", Int)],
        order: "group_id, user_id",
    },
    Table {
        name: "sessions",
        columns: &[
            Column::new("token", Text),
            Column::new("user_id", Int),
            Column::new("csrf_token", Text),
            Column::new("kind", Text),
            Column::new("label", Text),
            Column::new("created_at", Text),
            Column::new("expires_at", OptText),
        ],
        order: "token",
    },
    Table {
        name: "pages",
        columns: &[
            Column::new("id", Int),
            Column::new("parent_id", OptInt),
            Column::new("path", Text),
            Column::new("title", Text),
            Column::new("markdown", Text),
            Column::new("time_zone", Text),
            Column::new("inherit", Bool),
            Column::new("updated_at", Text),
            Column::new("updated_by", Text),
        ],
        order: "path",
    },
    Table {
        name: "page_revisions",
        columns: &[
            Column::new("id", Int),
            Column::new("page_id", Int),
            Column::new("title", Text),
            Column::new("markdown", Text),
            Column::new("author", Text),
            Column::new("created_at", Text),
        ],
        order: "id",
    },
    Table {
        name: "page_grants",
        columns: &[
            Column::new("page_id", Int),
            Column::new("kind", Text),
            Column::new("principal", Text),
        ],
        order: "page_id, kind, principal",
    },
    Table {
        name: "settings",
        columns: &[Column::new("key", Text), Column::new("value", Text)],
        order: "key",
    },
];

/// The tables whose ids PostgreSQL generates (identity columns): their
/// sequences must continue after the copied ids.
const IDENTITIES: [&str; 4] = ["users", "groups", "pages", "page_revisions"];

/// The wiki's table names in copy order.
pub fn tables() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.name)
}

/// Fails unless every wiki table in `target` is empty, naming those that
/// are not.
pub async fn ensure_empty(target: &PostgresStore) -> anyhow::Result<()> {
    let mut conn = target.pool().acquire().await?;
    refuse_unless_empty(&mut conn).await
}

async fn refuse_unless_empty(conn: &mut PgConnection) -> anyhow::Result<()> {
    let mut held = Vec::new();
    for table in tables() {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *conn)
            .await?;
        if rows > 0 {
            held.push(format!("{rows} {table}"));
        }
    }
    if !held.is_empty() {
        bail!(
            "the PostgreSQL wiki schema already holds {}; migrate into an empty database \
             (one no `serve --database-url` has started on: its first start creates the \
             admin account and the Welcome page)",
            held.join(", ")
        );
    }
    Ok(())
}

/// Empties every wiki table of `target` again and restarts its ids: undoes
/// a copy that [`sqlite_to_postgres`] committed into an empty schema when
/// the rest of the migration (the chat's copy) failed, so it can be rerun.
pub async fn undo(target: &PostgresStore) -> anyhow::Result<()> {
    let all: Vec<&str> = tables().collect();
    sqlx::query(&format!("TRUNCATE {} RESTART IDENTITY", all.join(", ")))
        .execute(target.pool())
        .await
        .context("emptying the wiki schema again")?;
    Ok(())
}

/// Copies the wiki database at `sqlite` into `target` (migrated, empty),
/// then checks that every table holds as many rows as the source.
pub async fn sqlite_to_postgres(
    sqlite: &Path,
    target: &PostgresStore,
    progress: Progress<'_>,
) -> anyhow::Result<Copied> {
    let conn = open_source(sqlite)?;
    // The tables below are this version's: an older file may lack columns,
    // a newer one may have tables this copy would silently leave behind.
    let version = infra::sqlite::version(&conn)?;
    if version != SCHEMA_VERSION {
        bail!(
            "{} is at wiki schema version {version}, but this backchannel copies version \
             {SCHEMA_VERSION}: migrate with the backchannel that last served it{}",
            sqlite.display(),
            if version < SCHEMA_VERSION {
                " (or start this one on it once, which upgrades it)"
            } else {
                ""
            }
        );
    }
    // The highest page id SQLite ever gave (AUTOINCREMENT remembers it
    // past deletions): PostgreSQL must not give a deleted page's id again
    // either, or a new page could find that page's chat rooms.
    let highest_page: i64 = conn.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'pages'), 0)",
        [],
        |row| row.get(0),
    )?;
    let mut tx = target.pool().begin().await?;
    refuse_unless_empty(&mut tx).await?;

    let copied = copy_tables(conn, &mut tx, &TABLES, progress).await?;

    // New accounts, groups, pages and revisions get ids after the copied ones.
    for table in IDENTITIES {
        continue_ids(&mut tx, table).await?;
    }
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('pages', 'id'), $1 + 1, false)
         WHERE $1 + 1 > (SELECT COALESCE(max(id), 0) + 1 FROM pages)",
    )
    .bind(highest_page)
    .execute(&mut *tx)
    .await
    .context("moving the page id sequence past deleted pages")?;
    tx.commit().await.context("committing the copy")?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{Permissions, Principal};
    use crate::pages::{self, PagePath};
    use crate::store::{SqliteStore, Store};
    use crate::{sessions, users};
    use infra::suite::on_fresh_schema;

    fn path(s: &str) -> PagePath {
        PagePath::parse(s).unwrap()
    }

    /// Accounts with groups and tokens, a page tree with a moved page (its
    /// new parent has a higher id), revisions, permissions and settings: all
    /// copied, equal through the `Store` trait, searchable, with ids that
    /// continue after the copy; and the copy refuses to run twice.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_populated_sqlite_database_arrives_whole() {
        on_fresh_schema(
            "wiki sqlite-to-postgres copy",
            "wiki_copy",
            |url, schema| async move {
                arrives_whole(&url, &schema).await;
            },
        )
        .await;
    }

    async fn arrives_whole(url: &str, schema: &str) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wiki.db");
        let sqlite = SqliteStore::open(&file).unwrap();
        let s: &dyn Store = &sqlite;
        users::create(s, "admin", "a long admin password", true, &[])
            .await
            .unwrap();
        let alice = users::create(s, "alice", "alice's long password", false, &["team".into()])
            .await
            .unwrap();
        users::create_group(s, "empty-group").await.unwrap();
        let token = sessions::create(s, alice.id, sessions::Kind::Api, "ci")
            .await
            .unwrap();
        sessions::create(s, alice.id, sessions::Kind::Browser, "")
            .await
            .unwrap();
        pages::put(
            s,
            &path("Welcome"),
            Some("Welcome"),
            "Hello {chat:Lobby}",
            "admin",
        )
        .await
        .unwrap();
        pages::put(
            s,
            &path("Team/Notes"),
            None,
            "Deployment checklist",
            "alice",
        )
        .await
        .unwrap();
        pages::put(
            s,
            &path("Team/Notes"),
            None,
            "Deployment checklist, revised",
            "alice",
        )
        .await
        .unwrap();
        // Moving Team/Notes under a new ancestor gives it a parent whose id
        // is higher than its own: the copy must still insert parents first.
        let notes = s.page_by_path(&path("Team/Notes")).await.unwrap().unwrap();
        s.move_page(notes.id, &path("Archive/2026/Notes"), "admin")
            .await
            .unwrap();
        let archive = s.page_by_path(&path("Archive")).await.unwrap().unwrap();
        let restricted = Permissions {
            inherit: false,
            view: vec![Principal::Group("team".into())],
            edit: vec![Principal::User("alice".into())],
        };
        s.set_permissions(archive.id, &restricted).await.unwrap();
        pages::set_time_zone(s, archive.id, "Europe/Berlin")
            .await
            .unwrap();
        // The newest page, deleted: its id must not come back in PostgreSQL.
        let gone = pages::put(s, &path("Gone"), None, "", "admin")
            .await
            .unwrap();
        s.delete_page(gone.id).await.unwrap();

        let pg = PostgresStore::connect_with_schema(url, schema)
            .await
            .unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let copied = sqlite_to_postgres(&file, &pg, &|table, done, total| {
            seen.lock().unwrap().push((table, done, total));
        })
        .await;
        let second = sqlite_to_postgres(&file, &pg, &|_, _, _| {}).await;

        let copied = copied.unwrap();
        let p: &dyn Store = &pg;
        assert_eq!(copied.0.len(), TABLES.len());
        let count = |t: &str| copied.0.iter().find(|(n, _)| *n == t).unwrap().1;
        assert_eq!(count("users"), 2);
        assert_eq!(count("sessions"), 2);
        assert_eq!(count("pages"), 5, "{:?}", copied.0);
        assert!(
            seen.lock().unwrap().contains(&("pages", 5, 5)),
            "progress reaches the end"
        );

        assert_eq!(s.users().await.unwrap(), p.users().await.unwrap());
        assert_eq!(s.groups().await.unwrap(), p.groups().await.unwrap());
        assert_eq!(
            users::verify(p, "alice", "alice's long password")
                .await
                .unwrap(),
            Some(alice.clone()),
            "the same password signs in"
        );
        let session = sessions::lookup(p, &token, false).await.unwrap().unwrap();
        assert_eq!(session.member.user, alice, "API tokens keep working");
        for at in [
            "Welcome",
            "Team",
            "Archive",
            "Archive/2026",
            "Archive/2026/Notes",
        ] {
            let before = s.page_by_path(&path(at)).await.unwrap().unwrap();
            let after = p.page_by_path(&path(at)).await.unwrap().unwrap();
            assert_eq!(before, after, "{at}");
            assert_eq!(
                s.revisions(before.id, None, 100).await.unwrap(),
                p.revisions(after.id, None, 100).await.unwrap()
            );
            assert_eq!(
                s.children(before.id).await.unwrap(),
                p.children(after.id).await.unwrap()
            );
            assert_eq!(
                s.permissions(before.id).await.unwrap(),
                p.permissions(after.id).await.unwrap()
            );
        }
        assert_eq!(p.permissions(archive.id).await.unwrap(), restricted);
        assert_eq!(s.acl_epoch().await.unwrap(), p.acl_epoch().await.unwrap());

        let terms = crate::query::terms("deployment");
        assert_eq!(
            p.search(&terms).await.unwrap(),
            vec![notes.id],
            "the tsvector filled itself"
        );

        let refused = second.unwrap_err().to_string();
        assert!(refused.contains("empty database"), "{refused}");
        let future = dir.path().join("future.db");
        SqliteStore::open(&future).unwrap();
        rusqlite::Connection::open(&future)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let newer = sqlite_to_postgres(&future, &pg, &|_, _, _| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(newer.contains("schema version 99"), "{newer}");
        assert!(ensure_empty(&pg).await.is_err());

        // Ids continue after the copied ones.
        let bob = users::create(p, "bob", "bob's long password", false, &["later".into()])
            .await
            .unwrap();
        assert!(bob.id > alice.id);
        let written = pages::put(p, &path("Archive/2026/Later"), None, "x", "bob")
            .await
            .unwrap();
        assert!(written.created);
        assert!(written.id > gone.id, "a deleted page's id is not reused");
        let year = p
            .page_by_path(&path("Archive/2026"))
            .await
            .unwrap()
            .unwrap();
        let later = p.page_by_id(written.id).await.unwrap().unwrap();
        assert_eq!(later.parent_id, Some(year.id));
        assert_eq!(p.revisions(written.id, None, 100).await.unwrap().len(), 1);

        undo(&pg).await.unwrap();
        ensure_empty(&pg).await.unwrap();
    }
}
