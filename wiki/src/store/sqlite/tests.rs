//! The SQLite-only part of the schema: the migration that rebuilds `pages`
//! with AUTOINCREMENT keeps every row, id, revision, grant and the search
//! index of an existing database.

// Test scaffolding: a failure here should panic the test that called it.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::store::Store;

#[tokio::test]
async fn the_autoincrement_rebuild_keeps_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wiki.db");
    {
        // A database as the previous release left it.
        let mut conn = connect(&path).unwrap();
        infra::sqlite::migrate(&mut conn, "wiki", &MIGRATIONS[..3]).unwrap();
        conn.execute_batch(
            "INSERT INTO pages (id, parent_id, path, title, markdown, updated_at)
                 VALUES (1, NULL, 'Team', 'Team', 'rocket launch', 't'),
                        (2, 1, 'Team/Plan', 'Plan', 'the plan', 't'),
                        (3, NULL, 'Last', 'Last', '', 't');
             INSERT INTO page_revisions (page_id, title, markdown, author, created_at)
                 VALUES (1, 'Team', 'rocket launch', 'a', 't'), (2, 'Plan', 'the plan', 'a', 't');
             INSERT INTO page_grants (page_id, kind, principal) VALUES (2, 'view', 'user:a');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let plan = store
        .page_by_path(&PagePath::parse("Team/Plan").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((plan.id, plan.parent_id), (2, Some(1)));
    assert_eq!(store.revisions(1, None, 10).await.unwrap().len(), 1);
    assert_eq!(store.permissions(2).await.unwrap().view.len(), 1);
    let hits = crate::search::search(&store, None, "rocket", 1)
        .await
        .unwrap();
    assert_eq!(hits.total, 1);

    // The highest id, deleted, is not given again; the FTS triggers work.
    store.delete_page(3).await.unwrap();
    let next = crate::pages::put(&store, &PagePath::parse("New").unwrap(), None, "comet", "b")
        .await
        .unwrap();
    assert_eq!(next.id, 4);
    let hits = crate::search::search(&store, None, "comet", 1)
        .await
        .unwrap();
    assert_eq!(hits.total, 1);
    store.delete_page(2).await.unwrap();
    assert_eq!(
        store.revisions(1, None, 10).await.unwrap().len(),
        1,
        "no cascade beyond the page"
    );
}
