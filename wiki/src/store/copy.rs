//! Copying a single-node wiki database (`wiki.db`) into PostgreSQL, the
//! wiki's half of `backchannel migrate` (the chat's half is
//! [`plugin::store::copy`], built the same way).
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
//! Everything goes in one PostgreSQL transaction, so an interrupted copy
//! leaves the target as it was. The target must hold no wiki data yet (a
//! server started on it first has already made an `admin` and a Welcome
//! page): a merge of two wikis is not a migration. Reading uses one
//! read-only SQLite connection and one read transaction, a consistent
//! snapshot even while the server runs.
//!
//! [`Store`]: super::Store

use super::sqlite::SCHEMA_VERSION;
use super::PostgresStore;
use anyhow::{bail, Context as _};
use plugin::store::copy::{Copied, Progress};
use rusqlite::{Connection, OpenFlags};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use std::path::Path;

/// Rows per read from SQLite and per INSERT into PostgreSQL (9 columns ×
/// 1,000 rows stays well below PostgreSQL's 65,535 bind parameters).
const BATCH: usize = 1_000;

/// How a column travels: SQLite's storage class read, PostgreSQL's type bound.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    OptInt,
    Text,
    OptText,
    /// An SQLite integer flag (0 or 1) to a PostgreSQL boolean.
    Bool,
}

/// One wiki table: how to read it and where its columns go.
struct Table {
    name: &'static str,
    /// The columns, the same names on both sides, with their kinds.
    columns: &'static [(&'static str, Kind)],
    /// The read order. It matters for `pages` only: `parent_id` points into
    /// the same table, and a moved page can have a parent with a higher id,
    /// so pages go by path, which puts every parent before its children.
    order: &'static str,
}

use Kind::{Bool, Int, OptInt, OptText, Text};

/// The wiki's tables in copy order (every table after those it refers to).
const TABLES: [Table; 8] = [
    Table {
        name: "users",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("password_hash", Text),
            ("is_admin", Bool),
            ("created_at", Text),
        ],
        order: "id",
    },
    Table {
        name: "groups",
        columns: &[("id", Int), ("name", Text)],
        order: "id",
    },
    Table {
        name: "group_members",
        columns: &[("group_id", Int), ("user_id", Int)],
        order: "group_id, user_id",
    },
    Table {
        name: "sessions",
        columns: &[
            ("token", Text),
            ("user_id", Int),
            ("csrf_token", Text),
            ("kind", Text),
            ("label", Text),
            ("created_at", Text),
            ("expires_at", OptText),
        ],
        order: "token",
    },
    Table {
        name: "pages",
        columns: &[
            ("id", Int),
            ("parent_id", OptInt),
            ("path", Text),
            ("title", Text),
            ("markdown", Text),
            ("time_zone", Text),
            ("inherit", Bool),
            ("updated_at", Text),
            ("updated_by", Text),
        ],
        order: "path",
    },
    Table {
        name: "page_revisions",
        columns: &[
            ("id", Int),
            ("page_id", Int),
            ("title", Text),
            ("markdown", Text),
            ("author", Text),
            ("created_at", Text),
        ],
        order: "id",
    },
    Table {
        name: "page_grants",
        columns: &[("page_id", Int), ("kind", Text), ("principal", Text)],
        order: "page_id, kind, principal",
    },
    Table {
        name: "settings",
        columns: &[("key", Text), ("value", Text)],
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
    if !sqlite.exists() {
        bail!("{} does not exist", sqlite.display());
    }
    let conn = Connection::open_with_flags(sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", sqlite.display()))?;
    // The tables below are this version's: an older file may lack columns,
    // a newer one may have tables this copy would silently leave behind.
    let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version != SCHEMA_VERSION {
        bail!(
            "{} is at wiki schema version {version}, but this backchannel copies version              {SCHEMA_VERSION}: migrate with the backchannel that last served it{}",
            sqlite.display(),
            if version < SCHEMA_VERSION {
                " (or start this one on it once, which upgrades it)"
            } else {
                ""
            }
        );
    }
    let mut tx = target.pool().begin().await?;
    refuse_unless_empty(&mut tx).await?;

    // A reader thread streams every table, batch by batch, while this task
    // writes; the bounded channel keeps memory flat on big wikis.
    let (sender, mut batches) = tokio::sync::mpsc::channel(4);
    let reader = tokio::task::spawn_blocking(move || read_all(conn, &sender));

    let mut copied: Vec<(&'static str, u64)> = Vec::new();
    let mut done = 0;
    let mut failed = None;
    while let Some(batch) = batches.recv().await {
        match batch {
            Batch::Table(table, total) => {
                copied.push((table.name, total));
                done = 0;
                progress(table.name, 0, total);
            }
            Batch::Rows(table, rows) => {
                let n = rows.len() as u64;
                if let Err(e) = insert(&mut tx, table, rows).await {
                    failed = Some(e);
                    break;
                }
                done += n;
                let total = copied.last().map_or(done, |(_, total)| *total);
                progress(table.name, done, total);
            }
        }
    }
    // Dropping the receiver stops the reader at its next send; its error,
    // if any, explains more than the writer's.
    drop(batches);
    reader.await.context("the SQLite reader panicked")??;
    if let Some(e) = failed {
        return Err(e);
    }

    // New accounts, groups, pages and revisions get ids after the copied ones.
    for table in IDENTITIES {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                           COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        ))
        .execute(&mut *tx)
        .await
        .with_context(|| format!("moving the id sequence of {table} past the copied rows"))?;
    }

    for (table, expected) in &copied {
        let found: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await?;
        if found as u64 != *expected {
            bail!("{table}: SQLite has {expected} rows but PostgreSQL counts {found}; nothing was committed");
        }
    }
    tx.commit().await.context("committing the copy")?;
    Ok(Copied(copied))
}

/// What the reader thread sends: a table's row count, then its rows.
enum Batch {
    Table(&'static Table, u64),
    Rows(&'static Table, Vec<Row>),
}

/// One column's value, as PostgreSQL takes it.
enum Value {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
}

type Row = Vec<Value>;

/// Reads every table inside one read transaction (one consistent snapshot)
/// and sends it in batches of [`BATCH`]. Stops early if the writer is gone.
fn read_all(mut conn: Connection, sender: &tokio::sync::mpsc::Sender<Batch>) -> anyhow::Result<()> {
    let snapshot = conn.transaction()?;
    for table in &TABLES {
        let total: i64 = snapshot
            .query_row(&format!("SELECT count(*) FROM {}", table.name), [], |r| {
                r.get(0)
            })
            .with_context(|| format!("counting {} in the SQLite wiki database", table.name))?;
        if sender
            .blocking_send(Batch::Table(table, total as u64))
            .is_err()
        {
            return Ok(());
        }
        let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            names.join(", "),
            table.name,
            table.order
        );
        let mut statement = snapshot.prepare(&sql)?;
        let mut rows = statement.query([])?;
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(row) = rows.next()? {
            batch.push(convert(table, row).with_context(|| format!("reading {}", table.name))?);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if sender.blocking_send(Batch::Rows(table, full)).is_err() {
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() && sender.blocking_send(Batch::Rows(table, batch)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// One SQLite row of `table` as PostgreSQL values.
fn convert(table: &Table, r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            Ok(match kind {
                Kind::Int => Value::Int(r.get(i)?),
                Kind::OptInt => Value::OptInt(r.get(i)?),
                Kind::Text => Value::Text(r.get(i)?),
                Kind::OptText => Value::OptText(r.get(i)?),
                Kind::Bool => Value::Bool(r.get::<_, i64>(i)? != 0),
            })
        })
        .collect()
}

async fn insert(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    table: &Table,
    rows: Vec<Row>,
) -> anyhow::Result<()> {
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    // OVERRIDING SYSTEM VALUE is not needed: the identity columns are
    // GENERATED BY DEFAULT, which takes the ids given.
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "INSERT INTO {} ({}) ",
        table.name,
        names.join(", ")
    ));
    query.push_values(rows, |mut b, row| {
        for value in row {
            match value {
                Value::Int(v) => b.push_bind(v),
                Value::OptInt(v) => b.push_bind(v),
                Value::Text(v) => b.push_bind(v),
                Value::OptText(v) => b.push_bind(v),
                Value::Bool(v) => b.push_bind(v),
            };
        }
    });
    query
        .build()
        .execute(&mut **tx)
        .await
        .with_context(|| format!("copying rows into {}", table.name))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{Permissions, Principal};
    use crate::pages::{self, PagePath};
    use crate::store::suite::{postgres_url, service_missing};
    use crate::store::{SqliteStore, Store};
    use crate::{search, sessions, users};
    use sqlx::{Connection as _, Executor as _};

    fn path(s: &str) -> PagePath {
        PagePath::parse(s).unwrap()
    }

    /// Accounts with groups and tokens, a page tree with a moved page (its
    /// new parent has a higher id), revisions, permissions and settings: all
    /// copied, equal through the `Store` trait, searchable, with ids that
    /// continue after the copy; and the copy refuses to run twice.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_populated_sqlite_database_arrives_whole() {
        let url = postgres_url();
        let Ok(Ok(mut admin)) = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sqlx::PgConnection::connect(&url),
        )
        .await
        else {
            return service_missing(
                "wiki sqlite-to-postgres copy",
                &format!("PostgreSQL at {url} is unreachable"),
            );
        };

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

        let schema = format!("wiki_copy_{:016x}", rand::random::<u64>());
        let pg = PostgresStore::connect_with_schema(&url, &schema)
            .await
            .unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let copied = sqlite_to_postgres(&file, &pg, &|table, done, total| {
            seen.lock().unwrap().push((table, done, total));
        })
        .await;
        let second = sqlite_to_postgres(&file, &pg, &|_, _, _| {}).await;

        // Compare before dropping the schema, but drop it whatever happens.
        let compared = async {
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
                    s.revisions(before.id).await.unwrap(),
                    p.revisions(after.id).await.unwrap()
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

            let terms = search::terms("deployment");
            assert_eq!(
                p.search(&terms).await.unwrap(),
                vec![notes.id],
                "the tsvector filled itself"
            );

            let refused = second.unwrap_err().to_string();
            assert!(refused.contains("empty database"), "{refused}");
            let future = dir.path().join("future.db");
            SqliteStore::open(&future).unwrap();
            Connection::open(&future)
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
            let year = p
                .page_by_path(&path("Archive/2026"))
                .await
                .unwrap()
                .unwrap();
            let later = p.page_by_id(written.id).await.unwrap().unwrap();
            assert_eq!(later.parent_id, Some(year.id));
            assert_eq!(p.revisions(written.id).await.unwrap().len(), 1);

            undo(&pg).await.unwrap();
            ensure_empty(&pg).await.unwrap();
        };
        let outcome =
            futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(compared)).await;
        admin
            .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
            .await
            .unwrap();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}
