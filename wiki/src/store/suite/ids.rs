//! Page ids are never reused, on both backends: the chat keys rooms by
//! page id, so a new page must never take a deleted page's id (issue 17,
//! finding 3). And transcript writes keep only their latest revision.

use super::{on_postgres, on_sqlite, path, put, Reopen};
use crate::pages;
use crate::store::Store;
use std::sync::Arc;

infra::store_suite!(
    a_deleted_pages_id_is_never_given_again,
    machine_writes_keep_only_the_latest_revision,
    history_pages_by_cursor_without_bodies,
);

async fn a_deleted_pages_id_is_never_given_again(store: Arc<dyn Store>, reopen: Reopen) {
    let store = store.as_ref();
    put(store, "Keep", "k").await;
    let doomed = put(store, "Doomed", "d").await;
    store.delete_page(doomed.id).await.unwrap();
    let next = put(store, "Next", "n").await;
    assert!(next.id > doomed.id, "{} reused {}", next.id, doomed.id);
    // Also after a restart (SQLite keeps the counter in the file).
    store.delete_page(next.id).await.unwrap();
    let again = reopen.open().await;
    let after = put(again.as_ref(), "After", "a").await;
    assert!(after.id > next.id, "{} reused {}", after.id, next.id);
}

async fn machine_writes_keep_only_the_latest_revision(store: Arc<dyn Store>, _: Reopen) {
    let store = store.as_ref();
    let at = path("Room/Chat/Day");
    for text in ["one", "one two", "one two three"] {
        pages::put_keeping_latest(store, &at, Some("Day"), text, "bot")
            .await
            .unwrap();
    }
    let page = store.page_by_path(&at).await.unwrap().unwrap();
    let history = store.revisions(page.id, None, 10).await.unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    let only = store
        .revision(page.id, history[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(only.markdown, "one two three");
    // People's pages keep every revision.
    put(store, "Doc", "a").await;
    put(store, "Doc", "b").await;
    let doc = store.page_by_path(&path("Doc")).await.unwrap().unwrap();
    assert_eq!(store.revisions(doc.id, None, 10).await.unwrap().len(), 2);
}

async fn history_pages_by_cursor_without_bodies(store: Arc<dyn Store>, _: Reopen) {
    let store = store.as_ref();
    for i in 0..7 {
        put(store, "Busy", &"é".repeat(i + 1)).await;
    }
    let page = store.page_by_path(&path("Busy")).await.unwrap().unwrap();
    let first = store.revisions(page.id, None, 3).await.unwrap();
    let second = store
        .revisions(page.id, Some(first[2].id), 3)
        .await
        .unwrap();
    let third = store
        .revisions(page.id, Some(second[2].id), 3)
        .await
        .unwrap();
    let sizes: Vec<i64> = [first, second, third]
        .concat()
        .iter()
        .map(|r| r.bytes)
        .collect();
    // Newest first; sizes in bytes (é is two).
    assert_eq!(sizes, [14, 12, 10, 8, 6, 4, 2]);
}
